"""Helpers of the emqx-ee test harness: tools, helm rendering, JSONPath queries, scenarios."""
