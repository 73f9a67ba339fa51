pub mod broker;
pub mod scripted;
