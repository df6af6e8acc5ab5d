-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Event" (
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "deviceTs" DATETIME NOT NULL,
    "receivedAt" DATETIME NOT NULL,
    "consentVersion" INTEGER NOT NULL,
    "body" TEXT NOT NULL,

    PRIMARY KEY ("id", "deviceId")
);
INSERT INTO "new_Event" ("body", "consentVersion", "deviceId", "deviceTs", "id", "kind", "receivedAt", "seq") SELECT "body", "consentVersion", "deviceId", "deviceTs", "id", "kind", "receivedAt", "seq" FROM "Event";
DROP TABLE "Event";
ALTER TABLE "new_Event" RENAME TO "Event";
CREATE INDEX "Event_deviceId_deviceTs_idx" ON "Event"("deviceId", "deviceTs");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

