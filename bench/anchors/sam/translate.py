"""Translates a SAM template to CloudFormation with the SAM translator (what `sam build` and
CloudFormation's AWS::Serverless transform run), offline: python translate.py template.json"""

import json
import os
import sys

# The translator fills ${AWS::Region} pseudo parameters from the session: any region will do.
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

template = json.load(open(sys.argv[1]))


class NoIam(ManagedPolicyLoader):
    """The translator asks IAM for AWS managed policy ARNs; the templates use none."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict:
        return {}


out = transform(template, {}, NoIam())
json.dump(out, sys.stdout)
