"""Singer tap for the Zendesk Support API (tickets, users, organizations, groups,
ticket metrics, satisfaction ratings, ticket events)."""
