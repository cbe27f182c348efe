//! Numeric comparisons: `@eq`, `@ge`, `@gt`, `@le`, `@lt`.
//!
//! Both sides are read as C does, and not the same way for every operator (checked
//! against libmodsecurity 3.0.9): `@eq` uses `std::stoi` (leading white space, a
//! sign, decimal digits up to the first other byte; no digits or a value outside
//! 32-bit `int` give 0), the others use `atoll` (the same reading, 64-bit, saturating
//! on overflow).

use super::{Arg, EvalContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

pub(crate) struct NumOp {
    cmp: Cmp,
    arg: Arg,
    /// The argument's value when it has no macro.
    literal: Option<i64>,
}

impl NumOp {
    pub(crate) fn new(cmp: Cmp, arg: Arg) -> NumOp {
        let literal = (!arg.has_macro()).then(|| parse(cmp, arg.text().as_bytes()));
        NumOp { cmp, arg, literal }
    }

    pub(crate) fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        let param = match self.literal {
            Some(v) => v,
            None => parse(self.cmp, &self.arg.value(ctx)),
        };
        let value = parse(self.cmp, input);
        match self.cmp {
            Cmp::Eq => value == param,
            Cmp::Ge => value >= param,
            Cmp::Gt => value > param,
            Cmp::Le => value <= param,
            Cmp::Lt => value < param,
        }
    }
}

fn parse(cmp: Cmp, text: &[u8]) -> i64 {
    match cmp {
        Cmp::Eq => stoi(text),
        _ => atoll(text),
    }
}

/// Sign and digits after C white space; `None` when there is no digit. The value
/// saturates at the `i64` range.
fn strtoll(text: &[u8]) -> Option<i64> {
    let mut rest = text;
    while let [b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r', tail @ ..] = rest {
        rest = tail;
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in &rest[..digits] {
        let d = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(d)
        } else {
            value.saturating_mul(10).saturating_add(d)
        };
    }
    Some(value)
}

fn atoll(text: &[u8]) -> i64 {
    strtoll(text).unwrap_or(0)
}

fn stoi(text: &[u8]) -> i64 {
    strtoll(text)
        .filter(|v| i32::try_from(*v).is_ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(cmp: Cmp, arg: &str, input: &str) -> bool {
        let op = NumOp::new(cmp, Arg::new(arg));
        let expand = |s: &str| -> Vec<u8> {
            match s {
                "%{tx.limit}" => b"10".to_vec(),
                _ => b"GET POST".to_vec(),
            }
        };
        op.evaluate(input.as_bytes(), &mut EvalContext { expand: &expand, captures: None })
    }

    #[test]
    fn parsing_like_c() {
        assert_eq!(atoll(b" \n+7abc"), 7);
        assert_eq!(atoll(b"-3"), -3);
        assert_eq!(atoll(b"x5"), 0);
        assert_eq!(atoll(b"0x10"), 0);
        assert_eq!(atoll(b"99999999999999999999"), i64::MAX);
        assert_eq!(atoll(b"-99999999999999999999"), i64::MIN);
        assert_eq!(stoi(b"2147483647"), 2147483647);
        assert_eq!(stoi(b"2147483648"), 0);
        assert_eq!(stoi(b"-2147483649"), 0);
        assert_eq!(stoi(b"5.9"), 5);
        assert_eq!(stoi(b""), 0);
    }

    #[test]
    fn comparisons_observed_in_modsecurity() {
        assert!(eval(Cmp::Eq, "0", "99999999999"));
        assert!(eval(Cmp::Eq, "0", "abc"));
        assert!(!eval(Cmp::Eq, "0", "2147483647"));
        assert!(eval(Cmp::Gt, "5", "99999999999"));
        assert!(eval(Cmp::Gt, "5", "2147483648"));
        assert!(eval(Cmp::Gt, "2147483648", "2147483649"));
        assert!(!eval(Cmp::Lt, "9223372036854775807", "99999999999999999999"));
        assert!(eval(Cmp::Lt, "-2", "-3"));
        assert!(eval(Cmp::Le, "0", ""));
        assert!(eval(Cmp::Ge, "-9223372036854775808", "-99999999999999999999"));
        assert!(eval(Cmp::Eq, "5", " \n5"));
        // Macro arguments are read per call; a non-number reads as 0.
        assert!(eval(Cmp::Ge, "%{tx.limit}", "10"));
        assert!(!eval(Cmp::Gt, "%{tx.limit}", "10"));
        assert!(eval(Cmp::Eq, "%{tx.methods}", "0"));
    }
}
