//! The machine-readable result line shared by the bench binary and `cargo xtask bench`.

use std::fmt;

/// The prefix of every result line, so the lines can be picked out of any other output.
const PREFIX: &str = "BENCH-ROW";

/// Which direction of a value is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (time per call, memory, 429 count).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

impl Better {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lower => "lower",
            Self::Higher => "higher",
        }
    }
}

/// One measurement: a subject and the baseline measured next to it in the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The section of the table (`micro`, `loopback`, `budget`, `memory`, `build`).
    pub group: String,
    /// What was measured.
    pub subject: String,
    /// What it is compared with (`-` when there is no baseline).
    pub baseline: String,
    /// The subject's value.
    pub value: f64,
    /// The baseline's value in the same run (`NaN` when there is no baseline).
    pub baseline_value: f64,
    /// The unit of both values.
    pub unit: String,
    /// Which direction is an improvement.
    pub better: Better,
}

impl Row {
    /// A row comparing `subject` (`value`) with `baseline` (`baseline_value`).
    pub fn new(
        group: &str,
        subject: &str,
        baseline: &str,
        value: f64,
        baseline_value: f64,
        unit: &str,
        better: Better,
    ) -> Self {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        Self {
            group: clean(group),
            subject: clean(subject),
            baseline: clean(baseline),
            value,
            baseline_value,
            unit: clean(unit),
            better,
        }
    }

    /// A row without a baseline (an absolute figure such as a binary size).
    pub fn absolute(group: &str, subject: &str, value: f64, unit: &str, better: Better) -> Self {
        Self::new(group, subject, "-", value, f64::NAN, unit, better)
    }

    /// `value / baseline_value` (`NaN` without a baseline).
    pub fn ratio(&self) -> f64 {
        self.value / self.baseline_value
    }

    /// The line printed for `cargo xtask bench` (tab-separated, starting with `BENCH-ROW`).
    pub fn to_line(&self) -> String {
        format!(
            "{PREFIX}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.group,
            self.subject,
            self.baseline,
            self.value,
            self.baseline_value,
            self.unit,
            self.better.as_str()
        )
    }

    /// Parses a line written by [`Row::to_line`]; `None` for any other line.
    pub fn parse(line: &str) -> Option<Self> {
        let mut fields = line.trim_end_matches(['\r', '\n']).split('\t');
        if fields.next()? != PREFIX {
            return None;
        }
        let group = fields.next()?.to_string();
        let subject = fields.next()?.to_string();
        let baseline = fields.next()?.to_string();
        let value = fields.next()?.parse().ok()?;
        let baseline_value = fields.next()?.parse().ok()?;
        let unit = fields.next()?.to_string();
        let better = match fields.next()? {
            "lower" => Better::Lower,
            "higher" => Better::Higher,
            _ => return None,
        };
        if fields.next().is_some() {
            return None;
        }
        Some(Self {
            group,
            subject,
            baseline,
            value,
            baseline_value,
            unit,
            better,
        })
    }

    /// Prints the machine-readable line and a human-readable one below it.
    pub fn emit(&self) {
        println!("{}", self.to_line());
        println!("  {self}");
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {}: {:.3} {}",
            self.group, self.subject, self.value, self.unit
        )?;
        if self.baseline_value.is_finite() {
            write!(
                f,
                " vs {} {:.3} (ratio {:.3})",
                self.baseline,
                self.baseline_value,
                self.ratio()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_other_lines_are_ignored() {
        let row = Row::new("g", "a\tb", "base", 1.5, 3.0, "ns", Better::Higher);
        assert_eq!(row.subject, "a b");
        assert_eq!(Row::parse(&row.to_line()), Some(row));
        assert_eq!(Row::parse("hello"), None);
        assert_eq!(Row::parse("BENCH-ROW\tg\ts\tb\tx\t1\tns\tlower"), None);
        let absolute = Row::absolute("build", "size", 10.0, "MiB", Better::Lower);
        let parsed = Row::parse(&absolute.to_line()).expect("parses");
        assert!(parsed.baseline_value.is_nan());
        assert!(parsed.ratio().is_nan());
    }
}
