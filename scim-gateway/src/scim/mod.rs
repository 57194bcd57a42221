//! SCIM 2.0 itself, shared by every resource: schemas, canonical documents and projection,
//! rendering (meta, ETags, list responses) and errors.

pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod render;
pub(crate) mod schema;
