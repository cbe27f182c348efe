//! `@verifyCC`, `@verifyCPF`, `@verifySSN` and `@verifySVNR`: a regular expression
//! finds candidates, a checksum confirms them. With `capture`, the confirmed
//! candidate goes to `TX.0`.
//!
//! The search follows ModSecurity 3.0.9 (checked against it). `@verifyCC` tries
//! the leftmost match from every start offset in turn (anchors see the whole
//! input). The other three take every suffix of the input but the last byte
//! (anchors see the suffix), so a one-byte input never matches, and collect its
//! matches the way ModSecurity's `Regex::searchAll` does: every group of every
//! match, the next search starting where the last group ended, stopping at an
//! unset or empty group; candidates are then checked last-found first. That is
//! quadratic in the input length, as in ModSecurity; none of these operators
//! appears in the Core Rule Set.

use std::ops::Range;

use super::regex::Pattern;
use super::{set_capture, EvalContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    CreditCard,
    Cpf,
    Ssn,
    Svnr,
}

pub(crate) struct Verify {
    check: Check,
    pattern: Pattern,
}

impl Verify {
    pub(crate) fn new(check: Check, regex: &str) -> Result<Verify, String> {
        Ok(Verify { check, pattern: Pattern::new(regex.as_bytes())? })
    }

    pub(crate) fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        let found = match self.check {
            Check::CreditCard => self.credit_card(input),
            _ => self.by_suffix(input),
        };
        let Some(found) = found else { return false };
        if let Some(slots) = ctx.captures.as_deref_mut() {
            set_capture(&mut slots[0], found);
        }
        true
    }

    fn credit_card<'a>(&self, input: &'a [u8]) -> Option<&'a [u8]> {
        let mut offset = 0;
        while offset < input.len() {
            // No match can start before the leftmost one found from `offset`, so
            // the next offset worth trying is just after its start.
            let m = self.pattern.find_at(input, offset)?;
            let candidate = &input[m.clone()];
            if luhn(candidate) {
                return Some(candidate);
            }
            offset = m.start + 1;
        }
        None
    }

    fn by_suffix<'a>(&self, input: &'a [u8]) -> Option<&'a [u8]> {
        let check: fn(&[u8]) -> bool = match self.check {
            Check::Cpf => cpf,
            Check::Ssn => ssn,
            _ => svnr,
        };
        let mut candidates = Vec::new();
        let mut spans = Vec::new();
        for start in 0..input.len().saturating_sub(1) {
            let suffix = &input[start..];
            self.search_all(suffix, &mut candidates, &mut spans);
            if let Some(found) = candidates.iter().rev().map(|r| &suffix[r.clone()]).find(|c| check(c)) {
                return Some(found);
            }
        }
        None
    }

    /// ModSecurity's `searchAll`: group spans of successive matches, in the order
    /// found (the caller walks them backwards, as ModSecurity's list is built by
    /// pushing to the front).
    fn search_all(
        &self,
        s: &[u8],
        out: &mut Vec<Range<usize>>,
        spans: &mut Vec<Option<Range<usize>>>,
    ) {
        out.clear();
        let mut offset = 0;
        while offset <= s.len() && self.pattern.groups_at(s, offset, spans) {
            let last_set = spans.iter().rposition(Option::is_some).unwrap_or(0);
            let mut next = offset;
            for span in &spans[..=last_set] {
                let Some(span) = span else { return };
                out.push(span.clone());
                next = span.end;
                if span.is_empty() {
                    return;
                }
            }
            if next <= offset {
                return; // no progress (a group behind the match start)
            }
            offset = next;
        }
    }
}

/// Luhn mod-10 over the digits of `s` (other bytes are skipped).
fn luhn(s: &[u8]) -> bool {
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let digits: Vec<u32> = s.iter().filter(|b| b.is_ascii_digit()).map(|b| u32::from(b - b'0')).collect();
    if digits.is_empty() {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { DOUBLED[d as usize] } else { d })
        .sum();
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of needs Rust 1.87; MSRV is 1.80
    let valid = sum % 10 == 0;
    valid
}

/// The first `N` digits of `s`, reading up to a NUL byte; `None` when there are
/// fewer (further digits are ignored, as in ModSecurity).
fn leading_digits<const N: usize>(s: &[u8]) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    let mut count = 0;
    for &b in s.iter().take_while(|b| **b != 0) {
        if b.is_ascii_digit() && count < N {
            out[count] = u32::from(b - b'0');
            count += 1;
        }
    }
    (count == N).then_some(out)
}

/// Brazilian CPF: 11 digits with two check digits.
fn cpf(s: &[u8]) -> bool {
    let Some(d) = leading_digits::<11>(s) else { return false };
    let text: Vec<u8> = d.iter().map(|v| b'0' + *v as u8).collect();
    if text == b"01234567890" || d.iter().all(|v| *v == d[0]) {
        return false;
    }
    let check = |len: usize| {
        let sum: u32 = (0..len).map(|i| d[i] * (len as u32 + 1 - i as u32)).sum();
        let r = sum % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    d[9] == check(9) && d[10] == check(10)
}

/// US social security number: 9 digits (more than 9 fails), not all equal, not a
/// run of consecutive digits, no zero area/group/serial, area below 740 and not 666.
fn ssn(s: &[u8]) -> bool {
    let all: Vec<u32> = s.iter().filter(|b| b.is_ascii_digit()).map(|b| u32::from(b - b'0')).collect();
    if all.len() != 9 {
        return false;
    }
    let sequential = all.windows(2).filter(|w| w[0] + 1 == w[1]).count();
    let repeated = all.windows(2).filter(|w| w[0] == w[1]).count();
    if sequential == 8 || repeated == 8 {
        return false;
    }
    let area = all[0] * 100 + all[1] * 10 + all[2];
    let group = all[3] * 10 + all[4];
    let serial = all[5] * 1000 + all[6] * 100 + all[7] * 10 + all[8];
    area != 0 && group != 0 && serial != 0 && area < 740 && area != 666
}

/// Austrian social insurance number: 10 digits, the fourth a check digit.
fn svnr(s: &[u8]) -> bool {
    let Some(d) = leading_digits::<10>(s) else { return false };
    // ModSecurity consults only the first ten entries of its list of invalid
    // numbers, which leaves 8888888888 and 9999999999 out.
    const BAD: [&[u8; 10]; 10] = [
        b"0000000000", b"0123456789", b"1234567890", b"1111111111", b"2222222222",
        b"3333333333", b"4444444444", b"5555555555", b"6666666666", b"7777777777",
    ];
    let text: Vec<u8> = d.iter().map(|v| b'0' + *v as u8).collect();
    if BAD.iter().any(|b| b[..] == text[..]) {
        return false;
    }
    let w = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];
    let sum: u32 = d.iter().zip(w).map(|(a, b)| a * b).sum();
    let mut check = sum % 11;
    if check == 10 {
        check = 0;
    }
    check == d[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(check: Check, re: &str, input: &str) -> Option<Vec<u8>> {
        let v = Verify::new(check, re).unwrap();
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        let expand = |_: &str| Vec::new();
        let mut ctx = EvalContext { expand: &expand, captures: Some(&mut slots) };
        v.evaluate(input.as_bytes(), &mut ctx).then(|| slots[0].take().unwrap_or_default())
    }

    #[test]
    fn credit_cards() {
        let re = r"(?:\d[ -]*?){13,16}";
        assert_eq!(run(Check::CreditCard, re, "card 4111 1111 1111 1111 x").unwrap(), b"4111 1111 1111 1111");
        assert!(run(Check::CreditCard, r"\b\d{16}\b", "card 4111111111111112").is_none());
        // A later start offset can produce a valid candidate.
        assert!(run(Check::CreditCard, r"\d{16}", "94111111111111111").is_some());
        assert!(run(Check::CreditCard, re, "").is_none());
        assert!(luhn(b"79927398713") && !luhn(b"79927398710") && !luhn(b"abc"));
    }

    #[test]
    fn cpf_numbers() {
        let re = r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}";
        assert!(run(Check::Cpf, re, "cpf 529.982.247-25").is_some());
        assert!(run(Check::Cpf, re, "cpf 529.982.247-26").is_none());
        assert!(run(Check::Cpf, re, "111.111.111-11").is_none());
        assert!(cpf(b"52998224725") && !cpf(b"01234567890") && !cpf(b"5299822472"));
    }

    #[test]
    fn ssn_numbers() {
        let re = r"\d{3}-?\d{2}-?\d{4}";
        assert!(run(Check::Ssn, re, "ssn 078-05-1120").is_some());
        for bad in ["666-12-3456", "000-12-3456", "123-00-4567", "123-45-0000", "123-45-6789", "111-11-1111", "750-12-3456"] {
            assert!(run(Check::Ssn, re, bad).is_none(), "{bad}");
        }
        // The last byte never starts a search; a one-byte input cannot match.
        assert!(run(Check::Ssn, r"\d+", "1").is_none());
        // Later matches are checked first (observed with libmodsecurity 3.0.9).
        assert_eq!(run(Check::Ssn, re, "1073741824-2147483647").unwrap(), b"214748364");
        // Groups are candidates too.
        assert_eq!(run(Check::Ssn, r"x(\d{9})", "x078051120").unwrap(), b"078051120");
    }

    #[test]
    fn svnr_numbers() {
        // 3*1 + 7*2 + 9*3 + 5*0 + 8*1 + 4*0 + 2*1 + 1*8 + 6*0 = 62, 62 % 11 = 7.
        assert!(svnr(b"1237010180"));
        assert!(!svnr(b"1236010180"));
        assert!(run(Check::Svnr, r"\d{4} ?\d{6}", "svnr 1237 010180").is_some());
        assert!(!svnr(b"1234567890"));
        assert!(!svnr(b"123"));
    }
}
