//! The HTTP sink: a fixed method and URL, headers from secrets, a JSON body
//! whose fields are filled from declared pointers.

mod config;
mod sink;

pub use config::HttpSinkConfig;
pub use sink::deliver;
