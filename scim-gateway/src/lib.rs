//! The SCIM 2.0 gateway (Okta, Microsoft Entra ID → gRPC). Built by the gateway issue; this
//! crate holds its place in the workspace until then.
