//! The gRPC contract of the identity service: package `identity.v1`.
//!
//! Generated from `proto/identity/v1/*.proto`. [`FILE_DESCRIPTOR_SET`] is the encoded descriptor
//! set (with its imports) that the service registers for server reflection.

pub mod v1 {
    #![allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )]
    #![allow(missing_docs, rust_2018_idioms)]
    tonic::include_proto!("identity.v1");
}

pub mod email;
pub mod events;
pub mod fields;
pub mod filter;
pub mod json;
pub mod metadata;
pub mod provisioning;
pub mod reason;
pub mod secret;

/// Keys a user's `attributes` document may not hold, compared case-insensitively: they name
/// the User's own fields (as SCIM spells them), and a stored copy would shadow the real value
/// wherever the document is merged into a view of the user.
pub const RESERVED_ATTRIBUTE_KEYS: &[&str] = &[
    "id",
    "externalId",
    "userName",
    "displayName",
    "active",
    "emails",
    "groups",
    "password",
    "meta",
    "schemas",
];

/// The most users one `Users/ImportUsers` call creates (one transaction on the service, one
/// message of about a megabyte on the wire).
pub const MAX_IMPORTED_USERS: usize = 1000;

/// Whether `key` may not appear in a user's `attributes` document.
pub fn is_reserved_attribute(key: &str) -> bool {
    RESERVED_ATTRIBUTE_KEYS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(key))
}

/// Encoded `google.protobuf.FileDescriptorSet` of `identity.v1` and everything it imports.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/identity_v1_descriptor.bin"));

/// The client side of the API's authentication: sends `authorization: Bearer <key>` with every
/// call, e.g. `UsersClient::with_interceptor(channel, BearerAuth::new(&key)?)`.
#[derive(Clone)]
pub struct BearerAuth(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl BearerAuth {
    /// Fails when the key holds characters that cannot travel in a header.
    pub fn new(key: &str) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        format!("Bearer {key}").parse().map(BearerAuth)
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret.
        f.write_str("BearerAuth(…)")
    }
}

impl tonic::service::Interceptor for BearerAuth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert(metadata::AUTHORIZATION, self.0.clone());
        Ok(request)
    }
}

/// A channel whose calls carry a [`BearerAuth`] key.
pub type AuthenticatedChannel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, BearerAuth>;

/// How a client reaches the service over TLS (an `https://` address): the CA certificates it
/// trusts — the system's when none are given — and the certificate it presents when the
/// service requires one (mutual TLS). All PEM.
#[derive(Clone, Default)]
pub struct ClientTls {
    pub ca: Option<Vec<u8>>,
    /// Certificate chain and private key.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is a secret.
        f.debug_struct("ClientTls")
            .field("ca", &self.ca.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

impl ClientTls {
    /// Whether anything was configured (which only an `https://` address uses).
    pub fn is_configured(&self) -> bool {
        self.ca.is_some() || self.identity.is_some()
    }

    /// `endpoint`, speaking TLS when its address is `https://`.
    pub fn apply(
        &self,
        endpoint: tonic::transport::Endpoint,
    ) -> Result<tonic::transport::Endpoint, tonic::transport::Error> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        if endpoint.uri().scheme_str() != Some("https") {
            return Ok(endpoint);
        }
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint.tls_config(config)
    }
}
