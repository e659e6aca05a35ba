"""Transforms template.yaml with the SAM translator (samtranslator, installed with cfn-lint) into
the CloudFormation JSON that `sam deploy` would submit, on stdout. Local CodeUri directories
become a placeholder S3 location, as `sam package` would make them after `sam build`.

Usage: python3 scripts/sam-translate.py template.yaml > transformed.json
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

template, matches = decode(sys.argv[1])
if template is None:
    sys.exit("; ".join(str(m) for m in matches))

placeholder = "s3://skewless-artifacts/placeholder.zip"
globals_function = template.get("Globals", {}).get("Function", {})
if isinstance(globals_function.get("CodeUri"), str):
    globals_function["CodeUri"] = placeholder
for resource in template["Resources"].values():
    properties = resource.get("Properties", {})
    if resource.get("Type") == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
        properties["CodeUri"] = placeholder

translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(
    sam_template=template, parameter_values={}
)
json.dump(translated, sys.stdout, indent=1, default=str)
