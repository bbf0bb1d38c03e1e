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
    /// Per predicted class: `{"prediction":"<class>","probabilities":{`.
    openings: Vec<Vec<u8>>,
    /// Per class: `"<class>":`.
    keys: Vec<Vec<u8>>,
    /// `},"model":"<id>"}`.
    closing: Vec<u8>,
    /// The longest answer's length, but for the numbers.
    capacity: usize,
}

/// Room for one formatted probability (at most 24 bytes: `-1.2345678901234567e-308`).
const NUMBER: usize = 24;

impl OneRowJson {
    /// The pieces for a model with `classes` (in class-index order) and id `model_id`.
    pub fn new(classes: &[String], model_id: &str) -> Self {
        let quoted = |s: &str| serde_json::to_vec(s).expect("a string serializes to JSON");
        let openings: Vec<Vec<u8>> = classes
            .iter()
            .map(|c| [b"{\"prediction\":", &quoted(c)[..], b",\"probabilities\":{"].concat())
            .collect();
        let keys: Vec<Vec<u8>> = classes
            .iter()
            .map(|c| [&quoted(c)[..], b":"].concat())
            .collect();
        let closing = [b"},\"model\":", &quoted(model_id)[..], b"}"].concat();
        let capacity = openings.iter().map(Vec::len).max().unwrap_or(0)
            + keys.iter().map(|k| k.len() + 1 + NUMBER).sum::<usize>()
            + closing.len();
        OneRowJson {
            openings,
            keys,
            closing,
            capacity,
        }
    }

    /// The answer predicting class index `class`, with one probability per class.
    pub fn write(&self, class: usize, probabilities: &[f64]) -> Vec<u8> {
        debug_assert_eq!(probabilities.len(), self.keys.len());
        let mut out = Vec::with_capacity(self.capacity);
        out.extend_from_slice(&self.openings[class]);
        for (i, (key, p)) in self.keys.iter().zip(probabilities).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            serde_json::to_writer(&mut out, p).expect("writing to a Vec cannot fail");
        }
        out.extend_from_slice(&self.closing);
        out
    }
}
