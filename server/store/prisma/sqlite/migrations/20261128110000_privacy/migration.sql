-- AlterTable
ALTER TABLE "Device" ADD COLUMN "ownerPseudonym" TEXT;

-- CreateTable
CREATE TABLE "Owner" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pseudonym" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "contact" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Tombstone" (
    "deviceId" TEXT NOT NULL PRIMARY KEY,
    "ownerPseudonym" TEXT,
    "erasedAt" DATETIME NOT NULL,
    "cause" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "AuditEntry" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Owner_pseudonym_key" ON "Owner"("pseudonym");

-- CreateIndex
CREATE INDEX "AuditEntry_target_idx" ON "AuditEntry"("target");

-- CreateIndex
CREATE INDEX "Device_ownerPseudonym_idx" ON "Device"("ownerPseudonym");

