//! The SCIM schemas this gateway serves (RFC 7643 §4, §8.7): the one definition behind
//! `/Schemas`, attribute-name canonicalisation (names are case-insensitive on input), value type
//! checks, PATCH path resolution and `attributes=` projection. Every attribute listed here
//! round-trips: those without a column in the identity service travel in the user's attributes
//! document.

use serde_json::{Value, json};

pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub(crate) const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Boolean,
    Reference,
    Binary,
    Complex,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Reference => "reference",
            Kind::Binary => "binary",
            Kind::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returned {
    Default,
    /// Only when `attributes=` names it.
    Request,
    Never,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub unique: bool,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
        description,
    }
}

const fn text(name: &'static str, description: &'static str) -> Attribute {
    attr(name, Kind::String, description)
}

const fn complex(
    name: &'static str,
    sub_attributes: &'static [Attribute],
    description: &'static str,
) -> Attribute {
    Attribute {
        sub_attributes,
        ..attr(name, Kind::Complex, description)
    }
}

/// A multi-valued complex attribute with the usual value / display / type / primary.
const fn multi(
    name: &'static str,
    sub_attributes: &'static [Attribute],
    description: &'static str,
) -> Attribute {
    Attribute {
        multi_valued: true,
        ..complex(name, sub_attributes, description)
    }
}

const TYPE_DISPLAY_PRIMARY: [Attribute; 3] = [
    text(
        "display",
        "A human-readable name, primarily used for display purposes.",
    ),
    text("type", "A label indicating the attribute's function."),
    attr(
        "primary",
        Kind::Boolean,
        "Whether this is the preferred value (at most one is true).",
    ),
];

const fn typed(value: Attribute, canonical_values: &'static [&'static str]) -> [Attribute; 4] {
    let [display, kind, primary] = TYPE_DISPLAY_PRIMARY;
    [
        value,
        display,
        Attribute {
            canonical_values,
            ..kind
        },
        primary,
    ]
}

const NAME: [Attribute; 6] = [
    text("formatted", "The full name, formatted for display."),
    text(
        "familyName",
        "The family name (last name in most Western languages).",
    ),
    text(
        "givenName",
        "The given name (first name in most Western languages).",
    ),
    text("middleName", "The middle name(s)."),
    text("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    text("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const EMAILS: [Attribute; 4] = typed(
    text(
        "value",
        "The email address, canonicalised as RFC 5321 specifies.",
    ),
    &["work", "home", "other"],
);
const PHONE_NUMBERS: [Attribute; 4] = typed(
    text("value", "The phone number."),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IMS: [Attribute; 4] = typed(
    text("value", "The instant messaging address."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTOS: [Attribute; 4] = typed(
    Attribute {
        reference_types: &["external"],
        ..attr("value", Kind::Reference, "The URL of a photo of the user.")
    },
    &["photo", "thumbnail"],
);
const ENTITLEMENTS: [Attribute; 4] = typed(text("value", "The entitlement."), &[]);
const ROLES: [Attribute; 4] = typed(text("value", "The role."), &[]);
const ADDRESSES: [Attribute; 9] = [
    text(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    text("streetAddress", "The full street address component."),
    text("locality", "The city or locality component."),
    text("region", "The state or region component."),
    text("postalCode", "The zip code or postal code component."),
    text(
        "country",
        "The country name component (ISO 3166-1 alpha-2).",
    ),
    TYPE_DISPLAY_PRIMARY[1],
    TYPE_DISPLAY_PRIMARY[2],
    TYPE_DISPLAY_PRIMARY[0],
];

pub(crate) const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..text(
            "userName",
            "Unique identifier for the user, compared case-insensitively.",
        )
    },
    complex("name", &NAME, "The components of the user's real name."),
    text("displayName", "The name of the user, suitable for display."),
    text("nickName", "The casual way to address the user."),
    Attribute {
        reference_types: &["external"],
        ..attr(
            "profileUrl",
            Kind::Reference,
            "A URI of the user's online profile.",
        )
    },
    text("title", "The user's title, such as 'Vice President'."),
    text(
        "userType",
        "The relationship between the organisation and the user.",
    ),
    text(
        "preferredLanguage",
        "The user's preferred written or spoken language.",
    ),
    text("locale", "The user's default location for localisation."),
    text(
        "timezone",
        "The user's time zone in IANA Time Zone database format.",
    ),
    // Always has a value (true unless sent otherwise): it can be set, never removed.
    Attribute {
        required: true,
        ..attr("active", Kind::Boolean, "The user's administrative status.")
    },
    multi("emails", &EMAILS, "Email addresses for the user."),
    multi(
        "phoneNumbers",
        &PHONE_NUMBERS,
        "Phone numbers for the user.",
    ),
    multi("ims", &IMS, "Instant messaging addresses for the user."),
    multi("photos", &PHOTOS, "URLs of photos of the user."),
    multi(
        "addresses",
        &ADDRESSES,
        "Physical mailing addresses for the user.",
    ),
    multi("entitlements", &ENTITLEMENTS, "Entitlements of the user."),
    multi("roles", &ROLES, "Roles of the user."),
    multi(
        "x509Certificates",
        &X509_CERTIFICATES,
        "X.509 certificates of the user (DER, base64).",
    ),
    // Okta sends a placeholder even with password sync off. Sign-in happens at the identity
    // provider: the value is accepted and dropped, never stored, logged or returned.
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        ..text(
            "password",
            "Accepted and ignored: this service never stores passwords.",
        )
    },
    // Derived from group membership; fetched only when `attributes=` names it.
    Attribute {
        mutability: Mutability::ReadOnly,
        returned: Returned::Request,
        ..multi(
            "groups",
            &USER_GROUPS,
            "The groups the user belongs to (read-only; change membership through the group).",
        )
    },
];

const X509_CERTIFICATES: [Attribute; 4] = typed(
    attr(
        "value",
        Kind::Binary,
        "The certificate, DER-encoded, in base64.",
    ),
    &[],
);

const USER_GROUPS: [Attribute; 4] = [
    Attribute {
        mutability: Mutability::ReadOnly,
        ..text("value", "The id of the group.")
    },
    Attribute {
        mutability: Mutability::ReadOnly,
        reference_types: &["Group"],
        ..attr("$ref", Kind::Reference, "The URI of the group's resource.")
    },
    Attribute {
        mutability: Mutability::ReadOnly,
        ..text("display", "The group's displayName.")
    },
    Attribute {
        mutability: Mutability::ReadOnly,
        canonical_values: &["direct"],
        ..text(
            "type",
            "How the user is a member: 'direct' (groups do not nest).",
        )
    },
];

const MANAGER: [Attribute; 3] = [
    text(
        "value",
        "The id of the SCIM resource representing the user's manager.",
    ),
    Attribute {
        reference_types: &["User"],
        ..attr(
            "$ref",
            Kind::Reference,
            "The URI of the manager's resource.",
        )
    },
    text("displayName", "The display name of the user's manager."),
];

pub(crate) const ENTERPRISE_USER_ATTRIBUTES: &[Attribute] = &[
    text(
        "employeeNumber",
        "A string identifier of the user, issued by the organisation.",
    ),
    text("costCenter", "Identifies the name of a cost center."),
    text("organization", "Identifies the name of an organisation."),
    text("division", "Identifies the name of a division."),
    text("department", "Identifies the name of a department."),
    complex("manager", &MANAGER, "The user's manager."),
];

const MEMBERS: [Attribute; 3] = [
    Attribute {
        mutability: Mutability::Immutable,
        case_exact: true,
        ..text("value", "The id of a member (a user of the same tenant).")
    },
    Attribute {
        reference_types: &["User"],
        mutability: Mutability::Immutable,
        ..attr("$ref", Kind::Reference, "The URI of the member's resource.")
    },
    Attribute {
        canonical_values: &["User"],
        mutability: Mutability::Immutable,
        ..text(
            "type",
            "The member's type: only 'User' (groups do not nest).",
        )
    },
];

pub(crate) const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..text(
            "displayName",
            "A name for the group, unique in the tenant, compared case-insensitively.",
        )
    },
    multi("members", &MEMBERS, "The users in the group."),
];

/// The common attributes (RFC 7643 §3.1) present on every resource.
pub(crate) const COMMON_ATTRIBUTES: &[&str] = &["id", "externalId", "meta", "schemas"];

/// Where an attribute lives: the core schema or an extension, by URN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

pub(crate) const USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};
pub(crate) const ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_USER_ATTRIBUTES,
};
pub(crate) const GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRIBUTES,
};

pub(crate) const ALL_SCHEMAS: [Schema; 3] = [USER, ENTERPRISE_USER, GROUP];

/// A resource type: its core schema and its extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: &'static Schema,
    pub extensions: &'static [Schema],
}

pub(crate) const USER_TYPE: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    core: &USER,
    extensions: &[ENTERPRISE_USER],
};
pub(crate) const GROUP_TYPE: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    core: &GROUP,
    extensions: &[],
};

pub(crate) fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

impl ResourceType {
    /// The extension whose URN is `urn` (case-insensitively).
    pub(crate) fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions
            .iter()
            .find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }

    /// Splits a possibly URN-qualified attribute path (`urn:…:User:department`,
    /// `urn:…:core:2.0:User:name.givenName`) into its schema and the rest.
    pub(crate) fn split_urn<'p>(&self, path: &'p str) -> Option<(&'static Schema, &'p str)> {
        std::iter::once(self.core)
            .chain(self.extensions)
            .find_map(|schema| {
                let rest = strip_prefix_ignore_case(path, schema.id)?;
                Some((schema, rest.strip_prefix(':')?))
            })
    }
}

pub(crate) fn strip_prefix_ignore_case<'p>(text: &'p str, prefix: &str) -> Option<&'p str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn render_attribute(attribute: &Attribute) -> Value {
    let mutability = match attribute.mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    };
    let returned = match attribute.returned {
        Returned::Default => "default",
        Returned::Request => "request",
        Returned::Never => "never",
    };
    let mut rendered = json!({
        "name": attribute.name,
        "type": attribute.kind.as_str(),
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "caseExact": attribute.case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": if attribute.unique { "server" } else { "none" },
    });
    if let Some(object) = rendered.as_object_mut() {
        if !attribute.canonical_values.is_empty() {
            object.insert("canonicalValues".into(), json!(attribute.canonical_values));
        }
        if attribute.kind == Kind::Reference {
            object.insert("referenceTypes".into(), json!(attribute.reference_types));
        }
        if attribute.kind == Kind::Complex {
            let subs: Vec<Value> = attribute
                .sub_attributes
                .iter()
                .map(render_attribute)
                .collect();
            object.insert("subAttributes".into(), Value::Array(subs));
        }
    }
    rendered
}

/// The `/Schemas/{id}` representation.
pub(crate) fn render_schema(schema: &Schema, base_url: &str) -> Value {
    let attributes: Vec<Value> = schema.attributes.iter().map(render_attribute).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{}", schema.id),
        },
    })
}

/// The `/ResourceTypes/{name}` representation.
pub(crate) fn render_resource_type(resource_type: &ResourceType, base_url: &str) -> Value {
    let extensions: Vec<Value> = resource_type
        .extensions
        .iter()
        .map(|schema| json!({"schema": schema.id, "required": false}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": resource_type.name,
        "name": resource_type.name,
        "endpoint": resource_type.endpoint,
        "description": resource_type.core.description,
        "schema": resource_type.core.id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", resource_type.name),
        },
    })
}
