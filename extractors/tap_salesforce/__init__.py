"""tap-salesforce: Singer tap for the Salesforce REST API (SOQL `query`/`queryAll`).

Streams are the CX-relevant CRM objects (Account, Contact, Opportunity, User,
OpportunityContactRole), replicated incrementally on `SystemModstamp` with soft deletes.
"""
