//! UTF-8 checked as a text message grows, so that a bad byte fails the
//! connection as soon as it arrives (Autobahn 6.4.x "fail fast"), not when
//! the message ends.

/// How far a growing buffer is known to be valid UTF-8.
///
/// The buffer is the message assembled so far; [`advance`](Self::advance)
/// looks only at the bytes added since the last call, plus the at most 3
/// bytes of a sequence that was cut at the previous end.
#[derive(Debug, Default, Clone)]
pub struct Utf8Check {
    valid: usize,
}

impl Utf8Check {
    /// A check at the start of a message.
    pub fn new() -> Self {
        Utf8Check { valid: 0 }
    }

    /// Check `buf[..]` (the whole message so far, which only grows). Err:
    /// a byte is invalid whatever follows. A sequence cut at the end of
    /// `buf` is fine for now.
    pub fn advance(&mut self, buf: &[u8]) -> Result<(), ()> {
        let new = &buf[self.valid.min(buf.len())..];
        match std::str::from_utf8(new) {
            Ok(_) => {
                self.valid = buf.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() => {
                // Incomplete at the end: the next bytes decide.
                self.valid += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(()),
        }
    }

    /// The message ended with `buf`: every sequence must be complete.
    pub fn finish(&mut self, buf: &[u8]) -> Result<(), ()> {
        self.advance(buf)?;
        if self.valid == buf.len() {
            *self = Utf8Check::new();
            Ok(())
        } else {
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Check;

    fn feed(chunks: &[&[u8]]) -> Result<(), usize> {
        let mut buf = Vec::new();
        let mut c = Utf8Check::new();
        for (i, ch) in chunks.iter().enumerate() {
            buf.extend_from_slice(ch);
            c.advance(&buf).map_err(|_| i)?;
        }
        c.finish(&buf).map_err(|_| chunks.len())
    }

    #[test]
    fn sequences_split_anywhere_are_accepted() {
        let text = "κόσμε ☃ 𝄞 plain".as_bytes();
        for split in 0..=text.len() {
            assert_eq!(feed(&[&text[..split], &text[split..]]), Ok(()), "split {split}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed(&bytes), Ok(()));
    }

    #[test]
    fn a_bad_byte_fails_in_the_chunk_that_brings_it() {
        // "κόσμε" then a lone continuation byte, then more text.
        assert_eq!(feed(&["κόσμε".as_bytes(), &[0x80], b"more"]), Err(1));
        // A lead byte that is never valid is bad at once; a surrogate and
        // a code point above U+10FFFF are known bad at their second byte.
        assert_eq!(feed(&[b"a", &[0xC0], &[0x80]]), Err(1));
        assert_eq!(feed(&[&[0xED], &[0xA0, 0x80]]), Err(1));
        assert_eq!(feed(&[&[0xF4], &[0x90]]), Err(1));
        // Autobahn 6.4.1: the bad byte is in the middle of the first part.
        assert_eq!(feed(&["κόσμε".as_bytes(), &[0xF4, 0x90, 0x80, 0x80], b"edited"]), Err(1));
    }

    #[test]
    fn a_sequence_cut_at_the_end_of_the_message_is_an_error() {
        assert_eq!(feed(&[b"ok", &[0xE2, 0x98]]), Err(2));
        assert_eq!(feed(&[&[0xF0]]), Err(1));
        assert_eq!(feed(&[]), Ok(()));
    }
}
