"""Prints template.yaml as SAM's transform deploys it (CloudFormation JSON), for tests/iac.

Runs in .venv-sam, where aws-sam-cli brings samtranslator, the same transform CloudFormation
applies to `Transform: AWS::Serverless-2016-10-31`.
"""

import json
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names no AWS managed policy by name: nothing to look up."""

    def load(self):
        return {}


def packaged(document):
    """Local code and definition paths become S3 locations, as `sam package` uploads them."""
    for name, resource in document["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri"):
            if key in properties:
                properties[key] = f"s3://polysync-artifacts/{name}"
    return document


def main():
    with open(sys.argv[1]) as template:
        document = packaged(yaml_parse(template.read()))
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    json.dump(transform(document, parameters, NoManagedPolicies()), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
