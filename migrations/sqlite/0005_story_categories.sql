-- The categories the first item of a story carried (RSS <category>, Atom category), one per
-- line, so `tag:` in `feedwatch search` and `topics test` sees what live matching saw.
ALTER TABLE stories ADD COLUMN categories TEXT NOT NULL DEFAULT '';
