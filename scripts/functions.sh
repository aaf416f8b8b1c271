# The five Lambda binaries (../shared/CONTRACT.md §0), as the demo, the tests and the arm64
# build name them; sourced by scripts/demo and scripts/test.
# shellcheck disable=SC2034
FUNCTION_BINARIES=(polysync-glue-start polysync-glue-poll polysync-glue-cancel polysync-glue-discover polysync-glue-wake)
# `cargo ... ${FUNCTION_BINS[@]}`: the five, by name.
FUNCTION_BINS=()
for binary in "${FUNCTION_BINARIES[@]}"; do FUNCTION_BINS+=(--bin "$binary"); done
