-- A WORKFLOW node's nested run as a column of the node (issue #11, retry of nested runs): the run the node
-- started, or — for a node a retry reused — the original node's, which its own parent_node_run_id cannot
-- point at (it names the original node). A retry also finds there the nested run to retry from.
ALTER TABLE "workflow_node_run" ADD COLUMN "nested_run_id" UUID;

-- Nested runs started before this column: linked from the node that started them.
UPDATE "workflow_node_run" n SET "nested_run_id" = r."id" FROM "workflow_run" r WHERE r."parent_node_run_id" = n."id";
-- WORKFLOW nodes earlier retries reused: the original node's, along chains of retries of retries.
DO $$
BEGIN
  LOOP
    UPDATE "workflow_node_run" n SET "nested_run_id" = o."nested_run_id"
      FROM "workflow_run" r JOIN "workflow_node_run" o ON o."workflow_run_id" = r."retry_of_id"
     WHERE n."workflow_run_id" = r."id" AND o."key" = n."key" AND n."kind" = 'WORKFLOW' AND n."status" = 'SUCCEEDED'
       AND n."nested_run_id" IS NULL AND o."nested_run_id" IS NOT NULL AND n."reason" LIKE 'reused from workflow run #%';
    EXIT WHEN NOT FOUND;
  END LOOP;
END
$$;

-- CreateIndex
CREATE INDEX "workflow_node_run_nested_run_id_idx" ON "workflow_node_run"("nested_run_id");

-- AddForeignKey
ALTER TABLE "workflow_node_run" ADD CONSTRAINT "workflow_node_run_nested_run_id_fkey" FOREIGN KEY ("nested_run_id") REFERENCES "workflow_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
