"""The agent's own queue membership and pause, sent to Asterisk over AMI (the agent desk)."""
