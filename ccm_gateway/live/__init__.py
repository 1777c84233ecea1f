"""Live subscriptions: alerts and credit state pushed over GraphQL subscriptions
(``graphql-transport-ws`` on ``/graphql``)."""
