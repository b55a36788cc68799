//! permessage-deflate negotiation (RFC 7692, 5 and 7.1): the client's
//! offer, and the checks of the server's `Sec-WebSocket-Extensions`.

use std::fmt::Write as _;

/// The extension's name on the wire.
pub(crate) const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// What the client offers and how it compresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Offer permessage-deflate at all.
    pub enabled: bool,
    /// Our compressor's window (8..=15). `None` offers the parameter with
    /// no value: the server may pick any size, and we follow it.
    pub client_max_window_bits: Option<u8>,
    /// Ask the server for a smaller window (8..=15); `None` asks nothing.
    pub server_max_window_bits: Option<u8>,
    /// Ask the server to reset its compressor after each message (less
    /// memory on our side, worse ratio).
    pub server_no_context_takeover: bool,
    /// Reset our compressor after each message.
    pub client_no_context_takeover: bool,
    /// Messages shorter than this go uncompressed (compressing small
    /// messages costs more CPU than it saves on the wire).
    pub threshold: usize,
    /// The deflate level, 0 (none) to 9 (best).
    pub level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            enabled: true,
            client_max_window_bits: None,
            server_max_window_bits: None,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            threshold: 1024,
            level: 6,
        }
    }
}

impl DeflateConfig {
    /// The value of the request's `Sec-WebSocket-Extensions` header, or
    /// `None` when disabled. Window bits out of 8..=15 are the caller's
    /// error: checked when the option is set (see [`DeflateConfig::check`]).
    ///
    /// `client_max_window_bits` is always offered: it tells the server that
    /// we can compress with any window it picks.
    pub fn offer(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let mut s = String::from(PERMESSAGE_DEFLATE);
        match self.client_max_window_bits {
            Some(b) => write!(s, "; client_max_window_bits={b}").unwrap(),
            None => s.push_str("; client_max_window_bits"),
        }
        if let Some(b) = self.server_max_window_bits {
            write!(s, "; server_max_window_bits={b}").unwrap();
        }
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        Some(s)
    }

    /// Whether the options are in range (window bits 8..=15, level 0..=9).
    pub fn check(&self) -> Result<(), String> {
        for (name, b) in [
            ("client_max_window_bits", self.client_max_window_bits),
            ("server_max_window_bits", self.server_max_window_bits),
        ] {
            if let Some(b) = b {
                if !(8..=15).contains(&b) {
                    return Err(format!("{name} must be 8 to 15, not {b}"));
                }
            }
        }
        if self.level > 9 {
            return Err(format!("the deflate level must be 0 to 9, not {}", self.level));
        }
        Ok(())
    }
}

/// What was agreed: the parameters both sides now follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflate {
    /// The server resets its compressor after each message: so do we our
    /// decompressor.
    pub server_no_context_takeover: bool,
    /// We reset our compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's window (8..=15).
    pub server_max_window_bits: u8,
    /// Our window (8..=15).
    pub client_max_window_bits: u8,
    /// From the config: the size below which we send uncompressed.
    pub threshold: usize,
    /// From the config: our deflate level.
    pub level: u32,
}

impl Deflate {
    /// The agreed extension in canonical form, to show to users (what the
    /// browser's `WebSocket.extensions` would say): only the parameters
    /// that differ from the defaults.
    pub fn extension_string(&self) -> String {
        let mut s = String::from(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits != 15 {
            write!(s, "; server_max_window_bits={}", self.server_max_window_bits).unwrap();
        }
        if self.client_max_window_bits != 15 {
            write!(s, "; client_max_window_bits={}", self.client_max_window_bits).unwrap();
        }
        s
    }
}

/// Check the server's answer to our offer. `values` are the values of every
/// `Sec-WebSocket-Extensions` header of the response (a list may be split
/// over several headers). `Ok(None)`: no extension (the server declined, or
/// we offered nothing and it selected nothing). `Err`: the connection must
/// fail (RFC 6455, 9.1; RFC 7692, 5): the message says why.
pub fn negotiate(config: &DeflateConfig, values: &[&str]) -> Result<Option<Deflate>, String> {
    let mut found: Option<Deflate> = None;
    for value in values {
        for ext in split_outside_quotes(value, ',') {
            let mut parts = split_outside_quotes(ext, ';').into_iter();
            let name = parts.next().unwrap_or("").trim();
            if name.is_empty() {
                continue; // "1#" lists allow empty elements
            }
            if !is_token(name) {
                return Err(format!("the server's extension {name:?} is not a token"));
            }
            if !name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) || !config.enabled {
                return Err(format!(
                    "the server selected the extension {name:?}, which the client did not offer"
                ));
            }
            if found.is_some() {
                return Err("the server selected permessage-deflate twice".into());
            }
            found = Some(accept(config, parts)?);
        }
    }
    Ok(found)
}

/// The parameters of the server's permessage-deflate.
fn accept<'a>(
    config: &DeflateConfig,
    params: impl Iterator<Item = &'a str>,
) -> Result<Deflate, String> {
    let mut d = Deflate {
        server_no_context_takeover: false,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: 15,
        client_max_window_bits: config.client_max_window_bits.unwrap_or(15),
        threshold: config.threshold,
        level: config.level,
    };
    let mut seen: Vec<String> = Vec::new();
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim())?)),
            None => (param.trim(), None),
        };
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(format!("the server's permessage-deflate repeats {name}"));
        }
        seen.push(lower.clone());
        let no_value = |v: &Option<String>| match v {
            Some(_) => Err(format!("the server's {name} must have no value")),
            None => Ok(()),
        };
        match lower.as_str() {
            "server_no_context_takeover" => {
                no_value(&value)?;
                d.server_no_context_takeover = true;
            }
            "client_no_context_takeover" => {
                no_value(&value)?;
                d.client_no_context_takeover = true;
            }
            "server_max_window_bits" => {
                let b = window_bits(name, value)?;
                at_most(name, b, config.server_max_window_bits, "asked for")?;
                d.server_max_window_bits = b;
            }
            "client_max_window_bits" => {
                // Always offered (see `offer`), so always acceptable here.
                let b = window_bits(name, value)?;
                at_most(name, b, config.client_max_window_bits, "offered")?;
                d.client_max_window_bits = b;
            }
            _ => {
                return Err(format!(
                    "the server's permessage-deflate has an unknown parameter {name:?}"
                ))
            }
        }
    }
    Ok(d)
}

/// A window size in the answer: required, and exactly "8" to "15" (RFC
/// 7692, 7.1.2: an integer from 8 to 15; no sign, no leading zero).
fn window_bits(name: &str, value: Option<String>) -> Result<u8, String> {
    let v = value.ok_or_else(|| format!("the server's {name} has no value"))?;
    match v.parse::<u8>() {
        Ok(b) if (8..=15).contains(&b) && v == b.to_string() => Ok(b),
        _ => Err(format!("the server's {name}={v:?} is not a window size from 8 to 15")),
    }
}

/// A parameter value: a token, or a quoted-string whose content is a token
/// (RFC 7692, 5: "the value must conform to the token ABNF" either way).
fn unquote(v: &str) -> Result<String, String> {
    let bad = || format!("the server's parameter value {v:?} is not a token");
    let out = match v.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"').ok_or_else(bad)?;
            let mut s = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => s.push(chars.next().ok_or_else(bad)?),
                    '"' => return Err(bad()),
                    c => s.push(c),
                }
            }
            s
        }
        None => v.to_string(),
    };
    if is_token(&out) {
        Ok(out)
    } else {
        Err(bad())
    }
}

/// RFC 7230's token: one or more tchar.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Split on `sep` where it is not inside a quoted-string.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A window size of the server's answer over the one we named.
fn at_most(name: &str, b: u8, limit: Option<u8>, what: &str) -> Result<(), String> {
    match limit {
        Some(l) if b > l => Err(format!("the server's {name}={b} is larger than the {l} {what}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(config: &DeflateConfig, values: &[&str]) -> Result<Option<Deflate>, String> {
        negotiate(config, values)
    }

    #[test]
    fn the_offer_names_what_the_config_asks() {
        let mut c = DeflateConfig::default();
        assert_eq!(c.offer().unwrap(), "permessage-deflate; client_max_window_bits");
        c.client_max_window_bits = Some(10);
        c.server_max_window_bits = Some(12);
        c.server_no_context_takeover = true;
        c.client_no_context_takeover = true;
        assert_eq!(
            c.offer().unwrap(),
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12; \
             server_no_context_takeover; client_no_context_takeover"
        );
        c.enabled = false;
        assert_eq!(c.offer(), None);
        assert!(DeflateConfig::default().check().is_ok());
        c.client_max_window_bits = Some(7);
        assert!(c.check().is_err());
        c.client_max_window_bits = Some(16);
        assert!(c.check().is_err());
    }

    #[test]
    fn a_plain_answer_takes_the_defaults() {
        let c = DeflateConfig::default();
        let d = answer(&c, &["permessage-deflate"]).unwrap().unwrap();
        assert_eq!((d.server_max_window_bits, d.client_max_window_bits), (15, 15));
        assert!(!d.server_no_context_takeover && !d.client_no_context_takeover);
        assert_eq!(d.extension_string(), "permessage-deflate");
        assert_eq!(answer(&c, &[]).unwrap(), None);
        assert_eq!(answer(&c, &[""]).unwrap(), None);
        assert_eq!(answer(&c, &[" , "]).unwrap(), None);
    }

    #[test]
    fn every_parameter_the_server_may_send_is_honoured() {
        let c = DeflateConfig::default();
        let d = answer(
            &c,
            &["Permessage-Deflate ; server_no_context_takeover;client_no_context_takeover; \
               server_max_window_bits=10; client_max_window_bits=\"9\""],
        )
        .unwrap()
        .unwrap();
        assert!(d.server_no_context_takeover && d.client_no_context_takeover);
        assert_eq!((d.server_max_window_bits, d.client_max_window_bits), (10, 9));
        assert_eq!(
            d.extension_string(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
        for b in 8..=15 {
            let v = format!("permessage-deflate; server_max_window_bits={b}");
            assert_eq!(answer(&c, &[&v]).unwrap().unwrap().server_max_window_bits, b);
        }
        // Our own client_no_context_takeover holds even if the server is silent.
        let own = DeflateConfig { client_no_context_takeover: true, ..c };
        assert!(answer(&own, &["permessage-deflate"]).unwrap().unwrap().client_no_context_takeover);
    }

    #[test]
    fn invalid_answers_fail_the_connection() {
        let c = DeflateConfig::default();
        let cases: &[&[&str]] = &[
            &["x-webkit-deflate-frame"],
            &["permessage-deflate, foo"],
            &["permessage-deflate", "permessage-deflate"],
            &["permessage-deflate, permessage-deflate"],
            &["permessage-deflate; foo"],
            &["permessage-deflate; foo=1"],
            &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            &["permessage-deflate; client_max_window_bits=10; client_max_window_bits=10"],
            &["permessage-deflate; server_no_context_takeover=1"],
            &["permessage-deflate; client_no_context_takeover=\"\""],
            &["permessage-deflate; server_max_window_bits"],
            &["permessage-deflate; client_max_window_bits"],
            &["permessage-deflate; server_max_window_bits=7"],
            &["permessage-deflate; server_max_window_bits=16"],
            &["permessage-deflate; server_max_window_bits=08"],
            &["permessage-deflate; server_max_window_bits=+9"],
            &["permessage-deflate; server_max_window_bits=abc"],
            &["permessage-deflate; client_max_window_bits=\"10"],
            &["permessage-deflate; client_max_window_bits=\"1 0\""],
            &["permessage deflate"],
        ];
        for case in cases {
            assert!(answer(&c, case).is_err(), "{case:?} was accepted");
        }
        // Larger than what was asked or offered.
        let asked = DeflateConfig {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(11),
            ..c.clone()
        };
        assert!(answer(&asked, &["permessage-deflate; server_max_window_bits=11"]).is_err());
        assert!(answer(&asked, &["permessage-deflate; client_max_window_bits=12"]).is_err());
        let d = answer(&asked, &["permessage-deflate; server_max_window_bits=9"]).unwrap();
        assert_eq!(d.unwrap().client_max_window_bits, 11, "the offered value holds");
        // Nothing offered: any extension fails.
        let off = DeflateConfig { enabled: false, ..c };
        assert!(answer(&off, &["permessage-deflate"]).is_err());
        assert_eq!(answer(&off, &[]).unwrap(), None);
    }
}
