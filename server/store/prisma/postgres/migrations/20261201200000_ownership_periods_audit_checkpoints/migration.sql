-- CreateTable
CREATE TABLE "OwnershipPeriod" (
    "id" SERIAL NOT NULL,
    "deviceId" TEXT NOT NULL,
    "ownerPseudonym" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "OwnershipPeriod_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditCheckpoint" (
    "store" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "keyedFrom" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "mac" TEXT NOT NULL,

    CONSTRAINT "AuditCheckpoint_pkey" PRIMARY KEY ("store")
);

-- CreateIndex
CREATE INDEX "OwnershipPeriod_deviceId_startedAt_idx" ON "OwnershipPeriod"("deviceId", "startedAt");

-- CreateIndex
CREATE INDEX "OwnershipPeriod_ownerPseudonym_idx" ON "OwnershipPeriod"("ownerPseudonym");


-- Devices owned before periods existed: one open period each from the epoch (a device's first period
-- covers everything before the first handover), so every event stays its current owner's as before.
INSERT INTO "OwnershipPeriod" ("deviceId", "ownerPseudonym", "startedAt")
SELECT "id", "ownerPseudonym", TIMESTAMP '1970-01-01 00:00:00' FROM "Device" WHERE "ownerPseudonym" IS NOT NULL;
