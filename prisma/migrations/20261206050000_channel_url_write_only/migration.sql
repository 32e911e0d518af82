-- Chat webhook URLs (Slack, Teams, Mattermost) carry the service's token: they become write-only, sealed
-- with the credential key like a credential's secret. SQL cannot seal (the key is the application's), so
-- this adds the columns and the host shown instead; the application seals existing chat URLs when it
-- starts (modules/notifications/channel-url.ts, sealPlainChatUrls) and clears the plain column. Until
-- then the API already never returns a chat URL, and delivery reads whichever column is set.
ALTER TABLE "notification_channel" ADD COLUMN "url_sealed" BYTEA;
ALTER TABLE "notification_channel" ADD COLUMN "url_host" TEXT;
UPDATE "notification_channel" SET "url_host" = lower(substring("url" from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)')) WHERE "url" IS NOT NULL;
