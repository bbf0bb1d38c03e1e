use anyhow::{Result, bail};
use std::path::Path;
pub fn main(_root: &Path, _args: &[String]) -> Result<()> {
    bail!("e2e: not written yet")
}
