//! Learner placeholder.
use super::ToneDef;
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedTone {
    pub def: ToneDef,
}
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error("too short")]
    TooShort,
}
pub fn learn(_s: &[i16]) -> Result<LearnedTone, LearnError> {
    Err(LearnError::TooShort)
}
