//! What an output schema asks of the classifier: for each property, how
//! it is filled, or why it cannot be.
//!
//! - an enum (`enum`, or `oneOf`/`anyOf` of `const`s): the label whose
//!   description is most similar to the data. Descriptions come from
//!   `"x-seam-labels": {"value": "description"}` on the property, else
//!   each `const`'s `description` (or `title`), else the value itself
//!   with underscores as spaces;
//! - a `confidence` property of type `number`: the cosine margin between
//!   the best and second-best label of the enum fields (the smallest
//!   margin when there are several), clamped to its `minimum`/`maximum`;
//! - a property with a `default`: the default;
//! - a string marked `"x-seam-extract": "untrusted"`: the first
//!   `<untrusted>` block of the user message, cut to `maxLength`;
//! - a required property whose `type` allows `null`: null.
//!
//! Any other required property cannot be filled honestly: the plan fails,
//! the provider declines, and `seam check` refuses a pipeline that would
//! reach it.


use serde_json::{Map, Value};

/// The mark asking for an extract of the data.
pub const EXTRACT: &str = "x-seam-extract";
/// The mark giving each enum value its description.
pub const LABELS: &str = "x-seam-labels";

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub value: Value,
    /// What the value means, compared with the data.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Labels(Vec<Label>),
    Confidence { min: f64, max: f64 },
    Default(Value),
    Extract { max_chars: Option<usize> },
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub fill: Fill,
}

/// How every fillable property of `schema` is filled.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub fields: Vec<Field>,
}

impl Plan {
    /// Whether any field is chosen by similarity.
    pub fn classifies(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(f.fill, Fill::Labels(_)))
    }
}

pub fn plan(schema: &Value) -> Result<Plan, String> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("the output schema has no `properties` to fill")?;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mut cannot = Vec::new();
    for (name, prop) in props {
        let is_required = required.contains(&name.as_str());
        match fill_of(name, prop, is_required)? {
            Some(fill) => fields.push(Field {
                name: name.clone(),
                fill,
            }),
            None if is_required => cannot.push(format!("`/{name}`")),
            None => {}
        }
    }
    if !cannot.is_empty() {
        return Err(format!(
            "required field(s) {} are neither enums nor have a default, a null type or `\"{EXTRACT}\": \"untrusted\"`, so an embedding classifier cannot fill them",
            cannot.join(", ")
        ));
    }
    let plan = Plan { fields };
    if !plan.classifies() {
        return Err("the output schema has no enum field to classify".into());
    }
    Ok(plan)
}

fn fill_of(name: &str, prop: &Value, required: bool) -> Result<Option<Fill>, String> {
    if let Some(labels) = labels_of(name, prop)? {
        return Ok(Some(Fill::Labels(labels)));
    }
    if name == "confidence" && allows_type(prop, "number") {
        let bound = |k: &str, d: f64| prop.get(k).and_then(Value::as_f64).unwrap_or(d);
        return Ok(Some(Fill::Confidence {
            min: bound("minimum", 0.0),
            max: bound("maximum", 1.0),
        }));
    }
    if let Some(d) = prop.get("default") {
        return Ok(Some(Fill::Default(d.clone())));
    }
    match prop.get(EXTRACT) {
        Some(Value::String(s)) if s == "untrusted" => {
            let max_chars = prop
                .get("maxLength")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok());
            return Ok(Some(Fill::Extract { max_chars }));
        }
        Some(other) => {
            return Err(format!(
                "`/{name}`: `{EXTRACT}` must be \"untrusted\", not {other}"
            ));
        }
        None => {}
    }
    if required && allows_type(prop, "null") {
        return Ok(Some(Fill::Null));
    }
    Ok(None)
}

fn allows_type(prop: &Value, ty: &str) -> bool {
    match prop.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(ty)),
        _ => false,
    }
}

/// The labels of an enum property, `None` when it is not one.
fn labels_of(name: &str, prop: &Value) -> Result<Option<Vec<Label>>, String> {
    let described = prop.get(LABELS).map(|l| {
        l.as_object()
            .ok_or_else(|| format!("`/{name}`: `{LABELS}` must be an object of value → description"))
    });
    let described: Option<&Map<String, Value>> = described.transpose()?;
    let values: Vec<(Value, Option<String>)> =
        if let Some(values) = prop.get("enum").and_then(Value::as_array) {
            values.iter().map(|v| (v.clone(), None)).collect()
        } else if let Some(options) = prop
            .get("oneOf")
            .or_else(|| prop.get("anyOf"))
            .and_then(Value::as_array)
            .filter(|o| !o.is_empty() && o.iter().all(|o| o.get("const").is_some()))
        {
            options
                .iter()
                .map(|o| {
                    let text = o
                        .get("description")
                        .or_else(|| o.get("title"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    (o.get("const").cloned().unwrap_or(Value::Null), text)
                })
                .collect()
        } else {
            if described.is_some() {
                return Err(format!("`/{name}`: `{LABELS}` is only for enum properties"));
            }
            return Ok(None);
        };
    if values.is_empty() {
        return Err(format!("`/{name}`: the enum has no values"));
    }
    if let Some(described) = described {
        for key in described.keys() {
            if !values.iter().any(|(v, _)| v.as_str() == Some(key)) {
                return Err(format!(
                    "`/{name}`: `{LABELS}` describes `{key}`, which is not one of the enum's values"
                ));
            }
        }
    }
    let labels = values
        .into_iter()
        .map(|(value, text)| {
            let from_mark = value
                .as_str()
                .and_then(|v| described.and_then(|d| d.get(v)))
                .and_then(Value::as_str)
                .map(str::to_string);
            let text = from_mark.or(text).unwrap_or_else(|| match &value {
                Value::String(s) => s.replace('_', " "),
                other => other.to_string(),
            });
            Label { value, text }
        })
        .collect();
    Ok(Some(labels))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_kind_of_property_is_planned() {
        let schema = json!({
            "type": "object",
            "required": ["category", "priority", "confidence", "summary", "note", "lang"],
            "properties": {
                "category": {"enum": ["billing", "feature_request"],
                    "x-seam-labels": {"billing": "payments, invoices, refunds"}},
                "priority": {"oneOf": [{"const": "low", "description": "can wait"}, {"const": "high"}]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "summary": {"type": "string", "maxLength": 80, "x-seam-extract": "untrusted"},
                "note": {"type": ["string", "null"]},
                "lang": {"type": "string", "default": "en"},
                "optional": {"type": "string"}
            }
        });
        let p = plan(&schema).unwrap();
        let fill = |n: &str| p.fields.iter().find(|f| f.name == n).map(|f| f.fill.clone());
        let Some(Fill::Labels(cat)) = fill("category") else {
            panic!("{p:?}")
        };
        assert_eq!(cat[0].text, "payments, invoices, refunds");
        assert_eq!(cat[1].text, "feature request");
        let Some(Fill::Labels(pri)) = fill("priority") else {
            panic!("{p:?}")
        };
        assert_eq!((pri[0].text.as_str(), pri[1].text.as_str()), ("can wait", "high"));
        assert_eq!(fill("confidence"), Some(Fill::Confidence { min: 0.0, max: 1.0 }));
        assert_eq!(fill("summary"), Some(Fill::Extract { max_chars: Some(80) }));
        assert_eq!(fill("note"), Some(Fill::Null));
        assert_eq!(fill("lang"), Some(Fill::Default(json!("en"))));
        assert_eq!(fill("optional"), None);
    }

    #[test]
    fn unfillable_or_misspelt_schemas_are_refused() {
        let free_text = json!({"required": ["c", "summary"], "properties": {
            "c": {"enum": ["a"]}, "summary": {"type": "string"}}});
        let e = plan(&free_text).unwrap_err();
        assert!(e.contains("`/summary`"), "{e}");
        let no_enum = json!({"properties": {"s": {"type": "string"}}});
        assert!(plan(&no_enum).unwrap_err().contains("no enum"));
        let typo = json!({"properties": {"c": {"enum": ["a"], "x-seam-labels": {"b": "x"}}}});
        assert!(plan(&typo).unwrap_err().contains("`b`"));
        let bad_extract = json!({"properties": {"c": {"enum": ["a"]},
            "s": {"type": "string", "x-seam-extract": "all"}}});
        assert!(plan(&bad_extract).unwrap_err().contains("x-seam-extract"));
    }
}
