//! Namespace URIs the model reads.

/// BPMN 2.0 semantic model.
pub const BPMN_MODEL: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// BPMN 2.0 diagram interchange.
pub const BPMN_DI: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
/// OMG DC (bounds, points).
pub const DC: &str = "http://www.omg.org/spec/DD/20100524/DC";
/// OMG DI (waypoints).
pub const DI: &str = "http://www.omg.org/spec/DD/20100524/DI";
/// Camunda 7 extensions: the engine attributes of Millrace's dialect.
pub const CAMUNDA: &str = "http://camunda.org/schema/1.0/bpmn";
/// XML Schema instance (`xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
