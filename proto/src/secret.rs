//! What the service's secrets look like — a recognisable prefix and 256 random bits in lower-case
//! hex — so that the service (which issues and checks them) and the gateway (which carries portal
//! secrets in a cookie and a link) tell a secret from anything else the same way.

/// A portal link's token (the last segment of its URL).
pub const PORTAL_LINK_PREFIX: &str = "idplink_";
/// A portal session's secret (the browser's cookie; `authorization: Bearer` to the service).
pub const PORTAL_SESSION_PREFIX: &str = "idportal_";

/// Hex digits after the prefix: 256 bits.
pub const SECRET_HEX_DIGITS: usize = 64;

/// Whether `text` is `prefix` followed by a secret's hex digits.
pub fn has_format(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(is_secret_body)
}

/// Whether `body` (a secret after its prefix) is a secret's hex digits.
pub fn is_secret_body(body: &str) -> bool {
    body.len() == SECRET_HEX_DIGITS && body.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lower-case hex, by table: the service hashes every call's secret with it, and `write!` per
/// byte costs hundreds of instructions a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_a_prefix_and_64_hex_digits() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        let secret = format!("{PORTAL_SESSION_PREFIX}{}", "a1".repeat(32));
        assert!(has_format(&secret, PORTAL_SESSION_PREFIX));
        assert!(!has_format(&secret, PORTAL_LINK_PREFIX));
        assert!(!has_format(
            &format!("{PORTAL_LINK_PREFIX}<script>"),
            PORTAL_LINK_PREFIX
        ));
        assert!(!is_secret_body(&"a".repeat(63)));
    }
}
