//! Figures: printed as a table, saved as JSON.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub scenario: String,
    /// "plaintext", "tls" or "raw" (the baseline).
    pub mode: String,
    pub value: f64,
    pub unit: String,
    /// value / the reference (the raw-TCP baseline unless the note says otherwise).
    pub ratio: Option<f64>,
    pub note: Option<String>,
}

impl Figure {
    pub fn new(scenario: &str, mode: &str, value: f64, unit: &str) -> Figure {
        Figure {
            scenario: scenario.into(),
            mode: mode.into(),
            value,
            unit: unit.into(),
            ratio: None,
            note: None,
        }
    }

    pub fn ratio_to(mut self, reference: f64) -> Figure {
        if reference > 0.0 {
            self.ratio = Some(self.value / reference);
        }
        self
    }

    pub fn note(mut self, note: &str) -> Figure {
        self.note = Some(note.into());
        self
    }
}

pub fn print_table(figures: &[Figure]) {
    println!(
        "{:<42} {:<10} {:>12} {:<9} {:>7}  note",
        "scenario", "mode", "value", "unit", "ratio"
    );
    for f in figures {
        let ratio = f.ratio.map(|r| format!("{r:.2}x")).unwrap_or_default();
        println!(
            "{:<42} {:<10} {:>12.2} {:<9} {:>7}  {}",
            f.scenario,
            f.mode,
            f.value,
            f.unit,
            ratio,
            f.note.as_deref().unwrap_or("")
        );
    }
}
