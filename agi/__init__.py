"""The FastAGI server: routes `hotline`, `transfer`, `whisper`, `survey` and agent features."""
