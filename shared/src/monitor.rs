//! Console links: the Glue Studio page of a run (docs/interface.md, "Start output") and the CloudWatch Logs page of
//! a log stream (docs/interface.md, "Poll"), in the console domain of the region's partition.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded, so `/`, `#`, `?`, spaces and
/// non-ASCII in a job name cannot break the console's fragment route.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn console_domain(region: &str) -> &'static str {
    match partition(region) {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

pub fn monitor_url(region: &str, job_name: &str, job_run_id: &str) -> String {
    format!(
        "https://{region}.{domain}/gluestudio/home?region={region}#/job/{job}/run/{run}",
        domain = console_domain(region),
        job = utf8_percent_encode(job_name, PATH_SEGMENT),
        run = utf8_percent_encode(job_run_id, PATH_SEGMENT),
    )
}

/// The Step Functions console's page of an execution.
pub fn execution_url(region: &str, execution_arn: &str) -> String {
    format!(
        "https://{region}.{domain}/states/home?region={region}#/v2/executions/details/{arn}",
        domain = console_domain(region),
        arn = utf8_percent_encode(execution_arn, PATH_SEGMENT),
    )
}

/// The CloudWatch console's link to a log stream. Its fragment route takes each name
/// percent-encoded, with that encoding's `%` written `$25` (so `/` is `$252F`).
pub fn logs_url(region: &str, log_group: &str, log_stream: &str) -> String {
    let console = |name: &str| {
        utf8_percent_encode(name, PATH_SEGMENT)
            .to_string()
            .replace('%', "$25")
    };
    format!(
        "https://{region}.{domain}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}/log-events/{stream}",
        domain = console_domain(region),
        group = console(log_group),
        stream = console(log_stream),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_stream_link_encodes_names_as_the_cloudwatch_console_does() {
        assert_eq!(
            logs_url("us-east-1", "/aws-glue/jobs/error", "jr_0123abcd"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws-glue$252Fjobs$252Ferror/log-events/jr_0123abcd"
        );
        assert!(logs_url("us-gov-west-1", "/g", "s")
            .starts_with("https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/"));
    }

    #[test]
    fn commercial_region_uses_aws_amazon_com() {
        assert_eq!(
            monitor_url("us-east-1", "nightly-sales", "jr_0123abcd"),
            "https://us-east-1.console.aws.amazon.com/gluestudio/home?region=us-east-1#/job/nightly-sales/run/jr_0123abcd"
        );
    }

    #[test]
    fn china_region_uses_amazonaws_cn() {
        assert_eq!(
            monitor_url("cn-north-1", "etl", "jr_1"),
            "https://cn-north-1.console.amazonaws.cn/gluestudio/home?region=cn-north-1#/job/etl/run/jr_1"
        );
    }

    #[test]
    fn govcloud_region_uses_amazonaws_us_gov_com() {
        assert_eq!(
            monitor_url("us-gov-west-1", "etl", "jr_1"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com/gluestudio/home?region=us-gov-west-1#/job/etl/run/jr_1"
        );
    }

    #[test]
    fn job_name_with_spaces_slash_and_non_ascii_is_percent_encoded() {
        assert_eq!(
            monitor_url("eu-west-1", "Ventes nettes/été #2", "jr_9"),
            "https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1#/job/Ventes%20nettes%2F%C3%A9t%C3%A9%20%232/run/jr_9"
        );
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("us-west-2"), "aws");
        assert_eq!(partition("cn-northwest-1"), "aws-cn");
        assert_eq!(partition("us-gov-east-1"), "aws-us-gov");
    }
}
