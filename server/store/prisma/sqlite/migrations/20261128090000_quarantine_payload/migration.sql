-- AlterTable
ALTER TABLE "Refusal" ADD COLUMN "payload" BLOB;

