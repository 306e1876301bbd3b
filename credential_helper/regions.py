"""The regions of every AWS partition (botocore 1.44.8). GENERATED: do not edit.

Written by ``make regions`` (tools/gen_regions.py) from botocore's endpoints.json and
partitions.json; tests/test_regions.py fails when botocore knows a region this table lacks.
A hostname whose region is not here names no registry (not-found, no network), unless the
region is listed in ``ECRPY_EXTRA_REGIONS`` (docs/configuration.md).
"""

BOTOCORE_VERSION = "1.44.8"

# region -> partition
REGIONS = {
    "af-south-1": "aws",
    "ap-east-1": "aws",
    "ap-east-2": "aws",
    "ap-northeast-1": "aws",
    "ap-northeast-2": "aws",
    "ap-northeast-3": "aws",
    "ap-south-1": "aws",
    "ap-south-2": "aws",
    "ap-southeast-1": "aws",
    "ap-southeast-2": "aws",
    "ap-southeast-3": "aws",
    "ap-southeast-4": "aws",
    "ap-southeast-5": "aws",
    "ap-southeast-6": "aws",
    "ap-southeast-7": "aws",
    "ca-central-1": "aws",
    "ca-west-1": "aws",
    "cn-north-1": "aws-cn",
    "cn-northwest-1": "aws-cn",
    "eu-central-1": "aws",
    "eu-central-2": "aws",
    "eu-isoe-west-1": "aws-iso-e",
    "eu-north-1": "aws",
    "eu-south-1": "aws",
    "eu-south-2": "aws",
    "eu-west-1": "aws",
    "eu-west-2": "aws",
    "eu-west-3": "aws",
    "eusc-de-east-1": "aws-eusc",
    "il-central-1": "aws",
    "me-central-1": "aws",
    "me-south-1": "aws",
    "me-west-1": "aws",
    "mx-central-1": "aws",
    "sa-east-1": "aws",
    "sa-west-1": "aws",
    "us-east-1": "aws",
    "us-east-2": "aws",
    "us-gov-east-1": "aws-us-gov",
    "us-gov-west-1": "aws-us-gov",
    "us-iso-east-1": "aws-iso",
    "us-iso-west-1": "aws-iso",
    "us-isob-east-1": "aws-iso-b",
    "us-isob-west-1": "aws-iso-b",
    "us-isof-east-1": "aws-iso-f",
    "us-isof-south-1": "aws-iso-f",
    "us-west-1": "aws",
    "us-west-2": "aws",
}
