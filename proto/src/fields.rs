//! Field names of the contract's messages as they travel in update masks and filters: named as
//! the message fields are, defined once for the service (which accepts them) and its clients
//! (which send them).

/// `identity.v1.User`.
pub mod user {
    pub const ID: &str = "id";
    pub const USER_NAME: &str = "user_name";
    pub const EXTERNAL_ID: &str = "external_id";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const GIVEN_NAME: &str = "given_name";
    pub const FAMILY_NAME: &str = "family_name";
    pub const EMAILS: &str = "emails";
    /// Filter field: any of the user's addresses (`emails[].value`).
    pub const EMAIL: &str = "email";
    pub const ACTIVE: &str = "active";
    pub const ATTRIBUTES: &str = "attributes";
    pub const MANAGED_BY: &str = "managed_by";
    pub const CREATE_TIME: &str = "create_time";
    pub const UPDATE_TIME: &str = "update_time";

    /// What UpdateUser's mask may name.
    pub const UPDATABLE: &[&str] = &[
        USER_NAME,
        EXTERNAL_ID,
        DISPLAY_NAME,
        GIVEN_NAME,
        FAMILY_NAME,
        EMAILS,
        ACTIVE,
        ATTRIBUTES,
        MANAGED_BY,
    ];

    /// What ListUsers' filter may compare.
    pub const FILTERABLE: &[&str] = &[
        ID,
        USER_NAME,
        EXTERNAL_ID,
        DISPLAY_NAME,
        GIVEN_NAME,
        FAMILY_NAME,
        EMAIL,
        ACTIVE,
        MANAGED_BY,
        CREATE_TIME,
        UPDATE_TIME,
    ];
}

/// `identity.v1.Group`.
pub mod group {
    pub const ID: &str = "id";
    pub const DISPLAY_NAME: &str = "display_name";
    pub const EXTERNAL_ID: &str = "external_id";
    pub const MANAGED_BY: &str = "managed_by";
    /// Filter field: a member's user id.
    pub const MEMBER: &str = "member";
    pub const CREATE_TIME: &str = "create_time";
    pub const UPDATE_TIME: &str = "update_time";

    /// What UpdateGroup's mask may name.
    pub const UPDATABLE: &[&str] = &[DISPLAY_NAME, EXTERNAL_ID, MANAGED_BY];

    /// What ListGroups' filter may compare.
    pub const FILTERABLE: &[&str] = &[
        ID,
        DISPLAY_NAME,
        EXTERNAL_ID,
        MEMBER,
        MANAGED_BY,
        CREATE_TIME,
        UPDATE_TIME,
    ];
}

/// `identity.v1.Tenant`.
pub mod tenant {
    pub const NAME: &str = "name";
    pub const SCIM_ENABLED: &str = "scim_enabled";
    pub const SETTINGS: &str = "settings";

    /// What UpdateTenant's mask may name.
    pub const UPDATABLE: &[&str] = &[NAME, SCIM_ENABLED, SETTINGS];

    /// The setting that lets SCIM set emails in any domain (`"any"`), not only verified ones.
    pub const SCIM_EMAIL_DOMAINS_SETTING: &str = "scim_email_domains";
}

/// The values of the `managed_by` filter field (users and groups).
pub mod managed_by {
    /// Provisioned by the tenant's identity provider through SCIM.
    pub const SCIM: &str = "scim";
    /// Made inside the product.
    pub const INTERNAL: &str = "internal";
}

/// Every update mask may be `*`: all of its updatable fields.
pub const ALL_FIELDS: &str = "*";
