//! Scoring the cuts of one sorted feature with the Gini criterion.
//!
//! Cuts are ranked by the Gini "proxy" `Σ_c L_c² / L + Σ_c R_c² / R` (the weighted
//! impurity decrease up to a constant of the node), as scikit-learn does. Class counts
//! are integers (bootstrap weights), so the sums of squares are exact; they are updated
//! in O(1) per row as the cut moves right. Candidates are compared with products in
//! floating point (see [`Candidate::offer`]): cuts whose proxies are equal or differ in
//! the last bits may be ranked either way, always the same way for the same input.

use super::input::Kind;
use super::keys;
use super::ranks::MISSING;
use crate::forest::Branch;

/// One side of a cut: `Σ_c w_c²` and `Σ_c w_c` over its class counts `w_c`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Side {
    squares: u64,
    weight: u64,
}

impl Side {
    pub fn of(counts: impl Iterator<Item = u64>) -> Side {
        counts.fold(Side::default(), |s, c| Side {
            squares: s.squares + c * c,
            weight: s.weight + c,
        })
    }

    /// `Σ_c w_c² / W`: the side's part of the proxy (W > 0).
    pub fn proxy(self) -> f64 {
        self.squares as f64 / self.weight as f64
    }
}

/// A cut: the feature, the ranks on either side of it, and where missing values go.
/// Present values of rank `<= last_true` go to the true child; `first_false` is
/// [`MISSING`] when the cut separates present from missing values.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut {
    pub feature: usize,
    pub last_true: u32,
    pub first_false: u32,
    pub missing: Branch,
}

/// The best cut of a node so far.
#[derive(Debug)]
pub(super) struct Candidate {
    pub proxy: f64,
    pub cut: Option<Cut>,
}

impl Candidate {
    pub fn new() -> Candidate {
        Candidate {
            proxy: f64::NEG_INFINITY,
            cut: None,
        }
    }

    /// Keeps the cut if it beats the best so far; `cut` is only called then.
    ///
    /// `L·R·proxy = Σ L_c²·R + Σ R_c²·L` is compared to `L·R·best` with products, not
    /// quotients: a division per candidate cut would dominate the scan.
    #[inline]
    fn offer(&mut self, l: Side, r: Side, cut: impl FnOnce() -> Cut) {
        // Through i64: a signed conversion is one instruction, an unsigned one several
        // (every count here is far below 2⁶³).
        let float = |x: u64| x as i64 as f64;
        let (lw, rw) = (float(l.weight), float(r.weight));
        let scaled = float(l.squares) * rw + float(r.squares) * lw;
        let product = lw * rw;
        if scaled > self.proxy * product {
            self.proxy = scaled / product;
            self.cut = Some(cut());
        }
    }
}

/// One feature of a node, loaded: its present values' keys, sorted, and the class
/// counts of its missing values.
pub(super) struct Loaded<'a> {
    pub feature: usize,
    /// The number of samples in the node, present or missing.
    pub n_samples: usize,
    pub kinds: &'a [Kind],
    pub totals: &'a [u64],
    pub present: &'a [u64],
    pub missing: &'a [u64],
    pub min_samples_leaf: usize,
}

impl Loaded<'_> {
    /// Scores every cut: between consecutive distinct present values with the missing
    /// values on either side, and present against missing values. `left` is scratch
    /// space of one count per class.
    pub fn evaluate(&self, left: &mut [u64], best: &mut Candidate) {
        let n_missing = self.n_samples - self.present.len();
        self.scan(Branch::False, left, best);
        if n_missing == 0 {
            return;
        }
        self.scan(Branch::True, left, best);
        if self.present.len() >= self.min_samples_leaf && n_missing >= self.min_samples_leaf {
            let present = self.totals.iter().zip(self.missing).map(|(t, m)| t - m);
            let (l, r) = (Side::of(present), Side::of(self.missing.iter().copied()));
            best.offer(l, r, || Cut {
                feature: self.feature,
                last_true: self.present.last().map_or(0, |&k| keys::rank(k)),
                first_false: MISSING,
                missing: Branch::False,
            });
        }
    }

    /// Scores the cuts between consecutive distinct present values, with the missing
    /// values (if any) on the `missing` side; a cut that sees none sends them to the
    /// heavier side.
    fn scan(&self, missing: Branch, left: &mut [u64], best: &mut Candidate) {
        let n_missing = self.n_samples - self.present.len();
        let missing_true = missing == Branch::True && n_missing > 0;
        if missing_true {
            left.copy_from_slice(self.missing);
        } else {
            left.fill(0);
        }
        let mut l = Side::of(left.iter().copied());
        let mut r = Side::of(self.totals.iter().zip(left.iter()).map(|(t, l)| t - l));
        let (extra_true, extra_false) = if missing_true {
            (n_missing, 0)
        } else {
            (0, n_missing)
        };
        let n_present = self.present.len();
        for p in 0..n_present - 1 {
            let key = self.present[p];
            let kind = self.kinds[keys::kind(key)];
            let (class, w) = (kind.class as usize, u64::from(kind.weight));
            let (lc, rc) = (left[class], self.totals[class] - left[class]);
            l = Side {
                squares: l.squares + (2 * lc + w) * w,
                weight: l.weight + w,
            };
            r = Side {
                squares: r.squares + w * w - 2 * rc * w,
                weight: r.weight - w,
            };
            left[class] = lc + w;
            let (n_true, n_false) = (p + 1 + extra_true, n_present - p - 1 + extra_false);
            let (rank, next) = (keys::rank(key), keys::rank(self.present[p + 1]));
            if rank == next || n_true < self.min_samples_leaf || n_false < self.min_samples_leaf {
                continue;
            }
            let route = match (n_missing, missing_true) {
                (0, _) if l.weight > r.weight => Branch::True,
                (0, _) => Branch::False,
                (_, true) => Branch::True,
                (_, false) => Branch::False,
            };
            best.offer(l, r, || Cut {
                feature: self.feature,
                last_true: rank,
                first_false: next,
                missing: route,
            });
        }
    }
}
