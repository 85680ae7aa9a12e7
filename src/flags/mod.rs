//! Layer 7: the pipeline's flag. `on` runs the model; `off` refuses runs
//! (a rules baseline to answer instead arrives with the fallback chain).

/// A pipeline's flag state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    On,
    Off,
}

impl Flag {
    pub fn parse(text: &str) -> Result<Flag, String> {
        match text {
            "on" => Ok(Flag::On),
            "off" => Ok(Flag::Off),
            other => Err(format!("`{other}` is not one of `on`, `off`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::On => "on",
            Flag::Off => "off",
        }
    }
}
