// Apollo Client 4's InMemoryCache against a real server, as a front-end uses it:
// node cache.mjs <graphql url> <bearer token> <customer id>
// Reads a customer, sets its limit to 20000.00 (a decrease: an increase needs approval), places a hold of 100.00, and after each
// mutation reads the customer back from the cache alone (no request). Prints one JSON
// object a line: {step, data}.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';

const [url, token, customerId] = process.argv.slice(2);
const client = new ApolloClient({
  link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache(),
});
const print = (step, data) => console.log(JSON.stringify({ step, data }));

const CUSTOMER = gql`
  query Customer($id: ID!) {
    customer(id: $id) {
      id
      name
      creditAccount { id version limit { amount currency } held { amount } available { amount } }
    }
  }`;
const SET_LIMIT = gql`
  mutation SetLimit($input: SetCreditLimitInput!) {
    setCreditLimit(input: $input) { id version limit { amount currency } available { amount } }
  }`;
const AUTHORIZE = gql`
  mutation Authorize($input: AuthorizeCreditInput!) {
    authorizeCredit(input: $input) {
      __typename
      ... on Hold { id status account { id version held { amount } available { amount } } }
    }
  }`;
const fromCache = () => client.readQuery({ query: CUSTOMER, variables: { id: customerId } });

print('query', (await client.query({ query: CUSTOMER, variables: { id: customerId } })).data);
print('setCreditLimit', (await client.mutate({ mutation: SET_LIMIT, variables: { input: {
  customerId, limit: { amount: '20000.00', currency: 'USD' } } } })).data);
print('cached after setCreditLimit', fromCache());
print('authorizeCredit', (await client.mutate({ mutation: AUTHORIZE, variables: { input: {
  customerId, amount: { amount: '100.00', currency: 'USD' } } } })).data);
print('cached after authorizeCredit', fromCache());
