"""The supervisor's API: live figures from Redis, history from SQL, SSE and Prometheus."""
