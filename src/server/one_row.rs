//! The answer to a one-row `POST /predict`, written from pieces serialized once per
//! model.
//!
//! `{"prediction":"<class>","probabilities":{"<class>":p,...},"model":"sha256:..."}` is
//! the same text for every request except the numbers and which class is predicted. Its
//! strings (class names, which may need escaping, and the 71-character model id) are
//! escaped when the model loads; a request writes the pieces and formats the numbers.
//! The bytes are serde_json's for the predict module's `Prediction` (a test there holds
//! the two to that), at a fraction of the cost on the route the server answers most.

/// The pieces of one model's one-row answers.
#[derive(Debug)]
pub struct OneRowJson {
    /// Per class, its name as a JSON string (quoted and escaped).
    names: Vec<Vec<u8>>,
    /// `},"model":"<id>"}`.
    closing: Vec<u8>,
    /// Room for the longest answer, so a request's buffer never grows.
    capacity: usize,
}

const OPENING: &[u8] = b"{\"prediction\":";
const PROBABILITIES: &[u8] = b",\"probabilities\":{";
/// Room for one formatted probability (at most 24 bytes: `-1.2345678901234567e-308`).
const NUMBER: usize = 24;

impl OneRowJson {
    /// The pieces for a model with `classes` (in class-index order) and id `model_id`.
    pub fn new(classes: &[String], model_id: &str) -> Self {
        let quoted = |s: &str| serde_json::to_vec(s).expect("a string serializes to JSON");
        let names: Vec<Vec<u8>> = classes.iter().map(|c| quoted(c)).collect();
        let closing = [b"},\"model\":", &quoted(model_id)[..], b"}"].concat();
        let longest = names.iter().map(Vec::len).max().unwrap_or(0);
        let entries: usize = names.iter().map(|n| n.len() + 2 + NUMBER).sum();
        OneRowJson {
            capacity: OPENING.len() + longest + PROBABILITIES.len() + entries + closing.len(),
            names,
            closing,
        }
    }

    /// The answer predicting class index `class`, with one probability per class.
    pub fn write(&self, class: usize, probabilities: &[f64]) -> Vec<u8> {
        debug_assert_eq!(probabilities.len(), self.names.len());
        let mut out = Vec::with_capacity(self.capacity);
        out.extend_from_slice(OPENING);
        out.extend_from_slice(&self.names[class]);
        out.extend_from_slice(PROBABILITIES);
        for (i, (name, p)) in self.names.iter().zip(probabilities).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name);
            out.push(b':');
            serde_json::to_writer(&mut out, p).expect("writing to a Vec cannot fail");
        }
        out.extend_from_slice(&self.closing);
        out
    }
}
