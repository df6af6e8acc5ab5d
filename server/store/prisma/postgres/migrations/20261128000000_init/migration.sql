-- CreateTable
CREATE TABLE "DirectoryEntry" (
    "deviceId" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DirectoryEntry_pkey" PRIMARY KEY ("deviceId")
);

-- CreateTable
CREATE TABLE "Device" (
    "id" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConsentRecord" (
    "deviceId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "issuedAt" TIMESTAMP(3) NOT NULL,
    "usage" BOOLEAN NOT NULL,
    "location" TEXT NOT NULL,
    "payment" BOOLEAN NOT NULL,
    "diagnostics" BOOLEAN NOT NULL,
    "actor" TEXT NOT NULL,
    "channel" TEXT NOT NULL,

    CONSTRAINT "ConsentRecord_pkey" PRIMARY KEY ("deviceId","version")
);

-- CreateTable
CREATE TABLE "Event" (
    "id" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "deviceTs" TIMESTAMP(3) NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,
    "consentVersion" INTEGER NOT NULL,
    "body" TEXT NOT NULL,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Refusal" (
    "id" SERIAL NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "deviceId" TEXT,
    "eventId" TEXT,
    "kind" TEXT,

    CONSTRAINT "Refusal_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Event_deviceId_deviceTs_idx" ON "Event"("deviceId", "deviceTs");

