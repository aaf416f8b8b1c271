//! Following a run: when poll looks again ([`policy`]), and the shape of the state machine
//! that poll reads at run time to hand a long run to a child execution
//! ([`definition_shape`]). The offline cost model ([`model`]) is built for tests and with the
//! `cost-model` feature only.

pub mod definition_shape;
#[cfg(any(test, feature = "cost-model"))]
pub mod model;
pub mod policy;

pub use definition_shape::{Cost, DefinitionShape, DEFINITION};
pub use policy::PollTiming;

// `PROJECT_SHAPE`: the shape of statemachine/glue-job.asl.json, read by build.rs when the
// crate is built.
include!(concat!(env!("OUT_DIR"), "/project_shape.rs"));

/// The shape of this project's definition (`statemachine/glue-job.asl.json`).
pub fn project_shape() -> &'static DefinitionShape {
    &PROJECT_SHAPE
}

/// The bounds the polling tests reason with: the template's defaults.
#[cfg(test)]
pub(crate) mod test_bounds {
    use crate::config::PollBounds;

    pub const BOUNDS: PollBounds = PollBounds {
        min_seconds: 15,
        max_seconds: 600,
    };
    pub const HOUR: u64 = 3600;
    pub const DAY: u64 = 86_400;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_built_in_is_the_definition_s() {
        let definition = serde_json::from_str(DEFINITION).unwrap();
        assert_eq!(
            DefinitionShape::of_definition(&definition).as_ref(),
            Some(project_shape())
        );
    }
}
