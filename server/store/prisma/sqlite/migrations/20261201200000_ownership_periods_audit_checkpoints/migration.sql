-- CreateTable
CREATE TABLE "OwnershipPeriod" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deviceId" TEXT NOT NULL,
    "ownerPseudonym" TEXT,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME
);

-- CreateTable
CREATE TABLE "AuditCheckpoint" (
    "store" TEXT NOT NULL PRIMARY KEY,
    "seq" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "keyedFrom" INTEGER NOT NULL,
    "at" DATETIME NOT NULL,
    "mac" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "OwnershipPeriod_deviceId_startedAt_idx" ON "OwnershipPeriod"("deviceId", "startedAt");

-- CreateIndex
CREATE INDEX "OwnershipPeriod_ownerPseudonym_idx" ON "OwnershipPeriod"("ownerPseudonym");


-- Devices owned before periods existed: one open period each from the epoch (a device's first period
-- covers everything before the first handover), so every event stays its current owner's as before.
INSERT INTO "OwnershipPeriod" ("deviceId", "ownerPseudonym", "startedAt")
SELECT "id", "ownerPseudonym", '1970-01-01T00:00:00.000+00:00' FROM "Device" WHERE "ownerPseudonym" IS NOT NULL;
