"""The AMI client: panoramisk's manager with its faults fixed, our parser, named actions."""
