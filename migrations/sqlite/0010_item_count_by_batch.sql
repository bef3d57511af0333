-- The insert trigger of 0009 ran one UPDATE of `feeds` for every item stored: about a quarter
-- of the cost of filing an item (200,000 items: 1.32 s of SQLite's CPU with it, 1.00 s without).
-- The store adds each batch's items to their feeds' counts itself, one UPDATE per feed a batch
-- (`stories::insert_batch`); deleting items still counts down through the delete trigger.
DROP TRIGGER items_count_insert;
