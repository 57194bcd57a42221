//! Identifiers: the typed ids of tenants, users and groups, and names that are unique per tenant
//! compared case-insensitively.

use std::fmt;

/// The normalised form under which names are unique and compared: Unicode lower case. Lookups
/// and inserts both go through here, so the two can never disagree.
pub(crate) fn fold_case(value: &str) -> String {
    value.to_lowercase()
}

/// A name unique per tenant and compared case-insensitively (a user's `user_name`, a group's
/// `display_name`): the text as sent, which is stored and returned, and its case-folded key,
/// under which it is unique and found. Names equal as texts.
#[derive(Debug, Clone)]
pub struct Name {
    text: String,
    key: String,
}

impl Name {
    /// A name as stored, with the key stored beside it.
    pub(crate) fn stored(text: String, key: String) -> Name {
        Name { text, key }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The case-folded form ([`fold_case`]).
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

impl From<String> for Name {
    fn from(text: String) -> Self {
        Name {
            key: fold_case(&text),
            text,
        }
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Self {
        Name::from(text.to_owned())
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.text == other.text
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// A new resource id: a UUIDv7 (time-ordered, so inserts stay local in the indexes).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id of one kind of resource: a UUID the service issued, in canonical lower-case form. A
/// type each, so that a user id cannot be passed where a group id belongs.
macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// Ids come from the store, or from a request after validation.
        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Read as the text it is (SQL binds it); the type keeps ids of different kinds apart
        /// where they are passed between layers.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

resource_id!(
    /// A tenant's (team's) id.
    TenantId
);
resource_id!(
    /// A user's id.
    UserId
);
resource_id!(
    /// A group's id.
    GroupId
);
