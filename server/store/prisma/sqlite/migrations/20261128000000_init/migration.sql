-- CreateTable
CREATE TABLE "DirectoryEntry" (
    "deviceId" TEXT NOT NULL PRIMARY KEY,
    "region" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Device" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ConsentRecord" (
    "deviceId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "issuedAt" DATETIME NOT NULL,
    "usage" BOOLEAN NOT NULL,
    "location" TEXT NOT NULL,
    "payment" BOOLEAN NOT NULL,
    "diagnostics" BOOLEAN NOT NULL,
    "actor" TEXT NOT NULL,
    "channel" TEXT NOT NULL,

    PRIMARY KEY ("deviceId", "version")
);

-- CreateTable
CREATE TABLE "Event" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "deviceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "deviceTs" DATETIME NOT NULL,
    "receivedAt" DATETIME NOT NULL,
    "consentVersion" INTEGER NOT NULL,
    "body" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "Refusal" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "receivedAt" DATETIME NOT NULL,
    "reason" TEXT NOT NULL,
    "deviceId" TEXT,
    "eventId" TEXT,
    "kind" TEXT
);

-- CreateIndex
CREATE INDEX "Event_deviceId_deviceTs_idx" ON "Event"("deviceId", "deviceTs");

