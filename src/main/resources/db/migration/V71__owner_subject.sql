-- A dedicated desktop's owner is the token's subject (sub), never reassigned by the identity provider; the name in
-- owner is only shown. Rows written before this have no subject: the first sign-in of that name binds the desktop
-- to its subject (security.md, "Who owns what").
alter table desktop add column owner_sub varchar(255);
