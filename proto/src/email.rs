//! What counts as an email address on the wire: one address, nothing around it. The service
//! validates every stored address with it, and the SCIM gateway presents a user name as an
//! address only when it passes — so a check on one side cannot be dodged on the other.

/// An address split at its `@`, the domain lower-cased without a trailing dot (the form in which
/// domains compare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address<'a> {
    pub local: &'a str,
    pub domain: String,
}

/// Characters that separate or quote addresses (`a@x, b@y`, `Name <a@x>`, `"a b"@x`): none may
/// appear in a single address.
const SEPARATORS: &[char] = &[',', ';', '<', '>', '"', '`', '(', ')', '[', ']', '\\', ':'];

/// Parses one address: exactly one `@`, a non-empty local part, a host name for the domain
/// (dot-separated labels of letters, digits and hyphens), and no white space, control
/// characters, separators or quotes anywhere.
pub fn parse(value: &str) -> Option<Address<'_>> {
    if value.len() > 320
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || SEPARATORS.contains(&c))
    {
        return None;
    }
    let (local, domain) = value.split_once('@')?;
    if local.is_empty() || domain.contains('@') {
        return None;
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let is_host_name = domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    is_host_name.then(|| Address {
        local,
        domain: domain.to_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn one_address_and_nothing_else() {
        for valid in [
            "ada@example.com",
            "o'brien+tag@Sub.Example.COM",
            "x@localhost",
            "eve@a.example.",
        ] {
            assert!(parse(valid).is_some(), "{valid}");
        }
        assert_eq!(
            parse("Eve@A.Example.").map(|a| a.domain).as_deref(),
            Some("a.example")
        );
        for invalid in [
            "",
            "no-at-sign",
            "@example.com",
            "eve@",
            "eve@evil.example,eve@a.example",
            "eve@evil.example@a.example",
            "eve@evil.example;x@a.example",
            "Eve <eve@evil.example> x@a.example",
            "eve @a.example",
            "\"eve\"@a.example",
            "eve@a..example",
            "eve@-a.example",
            "eve@a_b.example",
            "eve@a.example\n",
        ] {
            assert!(parse(invalid).is_none(), "{invalid:?}");
        }
    }
}
