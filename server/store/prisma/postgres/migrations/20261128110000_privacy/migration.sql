-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "ownerPseudonym" TEXT;

-- CreateTable
CREATE TABLE "Owner" (
    "id" TEXT NOT NULL,
    "pseudonym" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "contact" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Owner_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Tombstone" (
    "deviceId" TEXT NOT NULL,
    "ownerPseudonym" TEXT,
    "erasedAt" TIMESTAMP(3) NOT NULL,
    "cause" TEXT NOT NULL,

    CONSTRAINT "Tombstone_pkey" PRIMARY KEY ("deviceId")
);

-- CreateTable
CREATE TABLE "AuditEntry" (
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "Owner_pseudonym_key" ON "Owner"("pseudonym");

-- CreateIndex
CREATE INDEX "AuditEntry_target_idx" ON "AuditEntry"("target");

-- CreateIndex
CREATE INDEX "Device_ownerPseudonym_idx" ON "Device"("ownerPseudonym");

